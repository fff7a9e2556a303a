"""The admin forms; Flask-WTF adds a CSRF token field (csrf_token) to each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    FormField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateField, DateTimeLocalField
from wtforms.fields.choices import SelectChoice
from wtforms.form import Form
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from bot.campaigns.updates import STATUSES
from webhooks.admin.phone_numbers import e164_number


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class CommunityForm(FlaskForm):
    slug = StringField(
        "Short name for links",
        validators=[
            DataRequired(),
            Regexp(r"^[a-z0-9][a-z0-9-]{0,62}$", message="Lower-case letters, digits and dashes."),
        ],
        description="Used in web addresses and the Telegram link, like cumnock.",
    )
    name = StringField("Name residents see", validators=[DataRequired(), Length(max=60)])
    keyword = StringField(
        "SMS keyword",
        validators=[Optional(), Regexp(r"^[A-Za-z0-9]{2,32}$", message="2-32 letters or digits.")],
        description="The word residents text to join. Leave empty to use the short name.",
    )
    # Any case is accepted (a script may post europe/london); the view turns it into the real name.
    timezone = SelectField(
        "Time zone", default="Europe/London", validate_choice=False, validators=[DataRequired()]
    )
    sms_number = StringField(
        "SMS number (E.164)", validators=[Optional(), Length(max=32), e164_number]
    )


def _lower(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


TOO_LONG = "Please keep this under 1,600 characters."


class GroupQuestionForm(FlaskForm):
    """One optional question residents are asked on joining, to see which groups are least heard."""

    key = StringField(
        "Short name for this question",
        filters=[_lower],
        validators=[
            DataRequired(message="Give the question a short name, like area."),
            Regexp(
                r"^[a-z][a-z0-9_]{0,31}$",
                message="Lower-case letters, digits or _, starting with a letter, like area.",
            ),
        ],
        description="Used in exports and results, like area or age.",
    )
    text = StringField(
        "Question",
        validators=[DataRequired(message="Write the question residents will be asked.")],
        description="Like: Which part of town do you live in?",
    )
    choices = StringField(
        "Choices, separated by commas",
        validators=[DataRequired(message="Give 2 to 8 choices, separated by commas.")],
        description="Like: North, South, Town centre. Residents can reply SKIP.",
    )


QUESTION_KINDS = [
    SelectChoice("open", "Open: residents answer in their own words"),
    SelectChoice("choices", "Choices: residents pick one"),
    SelectChoice("scale", "A scale: residents reply with a number"),
]
# The form's room for choices without JavaScript; the browser adds and removes them (2 to 9).
CHOICE_SLOTS = 4


class ChoiceRow(Form):
    """One choice of a closed question and where answering it leads."""

    text = StringField("Choice", validators=[Optional()])
    # "" the next question, "end", or a question's number on the form (1, 2, ...).
    next = StringField("Then go to", validators=[Optional()])


class PromptRow(Form):
    key = StringField(
        "Short name for this question (optional)",
        validators=[
            Optional(),
            Length(max=64, message="Please keep this under 64 characters."),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]*$", message="Letters, digits and dashes only."),
        ],
        description="Left empty: q and the question's number, like q2.",
    )
    text = TextAreaField("Question", validators=[Optional(), Length(max=1600, message=TOO_LONG)])
    kind = SelectField("Kind of question", choices=QUESTION_KINDS, default="open")
    next = StringField("Then go to", validators=[Optional()])
    choices = FieldList(FormField(ChoiceRow), min_entries=CHOICE_SLOTS, max_entries=9)
    scale_low = IntegerField("Lowest number", default=1, validators=[Optional()])
    scale_high = IntegerField("Highest number", default=5, validators=[Optional()])
    low_label = StringField("The lowest means (optional)", validators=[Optional()])
    high_label = StringField("The highest means (optional)", validators=[Optional()])
    # Entry i is where the answer scale_low + i leads.
    scale_next = FieldList(StringField("Then go to", validators=[Optional()]), max_entries=11)


class CampaignForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[
            DataRequired(message="Give the campaign a title."),
            Length(max=200, message="Please keep the title under 200 characters."),
        ],
    )
    slug = StringField(
        "Short name for links",
        filters=[_lower],
        validators=[
            DataRequired(message="Give the campaign a short name for links."),
            Regexp(r"^[a-z0-9][a-z0-9-]{0,62}$", message="Lower-case letters, digits and dashes."),
        ],
        description="Used in web addresses and exports, like summer-streets.",
    )
    language = StringField(
        "Language (e.g. en, gd)",
        default="en",
        filters=[_lower],
        validators=[
            DataRequired(message="Say which language the questions are in, like en."),
            Regexp(
                r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$",
                message="Use a short language code like en (English) or gd (Gaelic).",
            ),
        ],
    )
    prompts = FieldList(FormField(PromptRow), min_entries=5, max_entries=20)
    nudge_after = StringField(
        "Nudge after", validators=[Optional()], description="Like 2d, 12h or 30m. Empty: no nudge."
    )
    nudge_max = IntegerField(
        "Most nudges", default=1, validators=[Optional(), NumberRange(min=0, max=10)]
    )
    nudge_text = TextAreaField(
        "Nudge text", validators=[Optional(), Length(max=1600, message=TOO_LONG)]
    )
    thanks = TextAreaField(
        "Thank-you text", validators=[Optional(), Length(max=1600, message=TOO_LONG)]
    )
    translations = StringField("Other languages", validators=[Optional()])
    start = DateTimeLocalField(
        "Start at (community's local time)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
        description="Leave empty to launch now.",
    )
    allow_long = BooleanField(
        "Allow long texts",
        description="Texts over two SMS segments cost more and arrive in pieces on some phones.",
    )
    confirm = BooleanField(
        "Yes, send these questions",
        validators=[DataRequired(message="Tick this box to confirm the launch.")],
    )


class CloseForm(FlaskForm):
    confirm = BooleanField(
        "Yes, stop asking this campaign's questions",
        validators=[DataRequired(message="Tick this box to confirm closing the campaign.")],
    )


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token (close a campaign, log out)."""


class ReportBackForm(FlaskForm):
    text = TextAreaField(
        "Update to send",
        validators=[DataRequired(message="Write the update before sending it.")],
    )
    another = BooleanField("Yes, send another update to everyone who answered")


class UpdateForm(FlaskForm):
    """A "you said, we did" update for the public page (sent to nobody)."""

    # Own ids: the report-back form on the same page has a "text" field too.
    text = TextAreaField(
        "What was done",
        id="update-text",
        validators=[
            DataRequired(message="Write what was done with what residents said."),
            Length(max=1000, message="Please keep this under 1,000 characters."),
        ],
    )
    happened_on = DateField(
        "Date",
        id="update-date",
        validators=[DataRequired(message="Give the date, like 2026-12-12.")],
    )
    status = SelectField("Status", id="update-status", choices=list(STATUSES), default="done")


class PublishForm(FlaskForm):
    """Publish the public results page, or take it down."""

    publish = BooleanField("Show the results page to everyone")


class ResponseFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Words", validators=[Optional(), Length(max=200)])
    campaign = StringField("Campaign", validators=[Optional()])
    prompt = StringField("Prompt", validators=[Optional()])
    channel = StringField("Channel", validators=[Optional()])
    since = StringField("From date", validators=[Optional()])
    until = StringField("To date", validators=[Optional()])
