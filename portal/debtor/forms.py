from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    reference = StringField(
        _l("Case reference"),
        validators=[DataRequired(message=_l("Fill in the reference from your letter.")),
                    Length(max=40)],
    )
    code = StringField(
        _l("Access code"),
        validators=[DataRequired(message=_l("Fill in the access code from your letter.")),
                    Length(max=40)],
    )
