"""The admin forms; Flask-WTF adds a CSRF token field (csrf_token) to each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    FieldList,
    FormField,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.form import Form
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

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
    timezone = StringField("Time zone", default="Europe/London", validators=[DataRequired()])
    sms_number = StringField(
        "SMS number (E.164)", validators=[Optional(), Length(max=32), e164_number]
    )


class PromptRow(Form):
    key = StringField("Prompt id", validators=[Optional(), Length(max=64)])
    text = TextAreaField("Question", validators=[Optional(), Length(max=1600)])


class CampaignForm(FlaskForm):
    slug = StringField(
        "Short name",
        validators=[
            DataRequired(),
            Regexp(r"^[a-z0-9][a-z0-9-]{0,62}$", message="Lower-case letters, digits and dashes."),
        ],
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    language = StringField("Language code", default="en", validators=[DataRequired()])
    prompts = FieldList(FormField(PromptRow), min_entries=5, max_entries=20)
    nudge_after = StringField(
        "Nudge after", validators=[Optional()], description="Like 2d, 12h or 30m. Empty: no nudge."
    )
    nudge_max = IntegerField(
        "Most nudges", default=1, validators=[Optional(), NumberRange(min=0, max=10)]
    )
    nudge_text = TextAreaField("Nudge text", validators=[Optional(), Length(max=1600)])
    thanks = TextAreaField("Thank-you text", validators=[Optional(), Length(max=1600)])
    translations = StringField("Other languages", validators=[Optional()])
    start = DateTimeLocalField(
        "Start at (community's local time)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
        description="Leave empty to launch now.",
    )


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token (close a campaign, log out)."""


class ReportBackForm(FlaskForm):
    text = TextAreaField("Update to send", validators=[DataRequired(), Length(max=1600)])


class ResponseFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Words", validators=[Optional(), Length(max=200)])
    campaign = StringField("Campaign", validators=[Optional()])
    prompt = StringField("Prompt", validators=[Optional()])
    channel = StringField("Channel", validators=[Optional()])
    since = StringField("From date", validators=[Optional()])
    until = StringField("To date", validators=[Optional()])
