from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from portal.services.accounts import MIN_PASSWORD_LENGTH


# Sign-in forms only look the address up: no format check, which would also refuse
# addresses the agency itself gave out (e.g. on an internal or reserved domain).
class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
