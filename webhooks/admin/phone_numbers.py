"""The community's SMS number: a real number in E.164, whatever way the organiser typed it."""

from __future__ import annotations

import phonenumbers
from wtforms import Field, Form, ValidationError

# Numbers typed without a country code are read as UK ones, where this project started.
DEFAULT_REGION = "GB"


def as_e164(text: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 (+447700900123); ValueError with one sentence when it is not one."""
    try:
        parsed = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("That is not a phone number; write it like +44 7400 123456.") from exc
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise ValueError("That is not a phone number that can take texts; check the digits.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def e164_number(_form: Form, field: Field) -> None:
    """WTForms validator: refuse a non-number, and keep the number in E.164."""
    if not (field.data or "").strip():
        return
    try:
        field.data = as_e164(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
