"""The client's API page: tokens (shown once, revocable) and webhook endpoints with their
recent deliveries. Every token and endpoint is loaded through the signed-in client."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.client import bp
from portal.extensions import db
from portal.models import ApiToken, WebhookEndpoint
from portal.services import api_tokens, webhooks


class TokenForm(FlaskForm):
    name = StringField(_l("Name (what uses it, e.g. your accounting system)"),
                       validators=[DataRequired(), Length(max=100)])


class EndpointForm(FlaskForm):
    url = StringField(_l("Address (https://...)"), validators=[DataRequired(), Length(max=500)])

    def validate_url(self, field) -> None:
        parts = urlsplit(field.data.strip())
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
            raise ValidationError(_("Give an https:// address, without a user name or "
                                    "password in it."))


def _page(status: int = 200, **context):
    client_id = current_user.client_id
    context.setdefault("token_form", TokenForm(formdata=None))
    context.setdefault("endpoint_form", EndpointForm(formdata=None))
    return render_template(
        "client/api/index.html",
        tokens=api_tokens.for_client(client_id),
        endpoints=webhooks.endpoints(client_id),
        deliveries=webhooks.recent_deliveries(client_id),
        **context,
    ), status


@bp.get("/api")
def api_settings():
    return _page()


@bp.post("/api/tokens")
def create_api_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(422, token_form=form)
    token, plain = api_tokens.issue(current_user.client, form.name.data, current_user)
    db.session.commit()
    # Shown on this answer only: the database keeps the hash alone.
    return _page(new_token=plain, new_token_name=token.name)


@bp.post("/api/tokens/<int:token_id>/revoke")
def revoke_api_token(token_id: int):
    token = db.session.scalar(select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.client_id == current_user.client_id))
    if token is None:
        abort(404)
    api_tokens.revoke(token, current_user)
    db.session.commit()
    flash(_("The token no longer works."), "success")
    return redirect(url_for("client.api_settings"))


@bp.post("/api/webhooks")
def add_webhook():
    form = EndpointForm()
    if not form.validate_on_submit():
        return _page(422, endpoint_form=form)
    endpoint = webhooks.add_endpoint(current_user.client_id, form.url.data.strip(), current_user)
    db.session.commit()
    return _page(new_secret=endpoint.secret, new_secret_url=endpoint.url)


@bp.post("/api/webhooks/<int:endpoint_id>/remove")
def remove_webhook(endpoint_id: int):
    endpoint = db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.client_id == current_user.client_id))
    if endpoint is None:
        abort(404)
    webhooks.deactivate(endpoint, current_user)
    db.session.commit()
    flash(_("We no longer send events to that address."), "success")
    return redirect(url_for("client.api_settings"))
