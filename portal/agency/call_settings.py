"""The call team's settings (admins only): the reasons for not paying, the callers' scripts,
and the priority weights and contact rules. A child blueprint of `agency` under /settings."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.agency import bp as agency_bp
from portal.agency.call_board import labels
from portal.agency.call_settings_forms import (
    RULE_FIELDS,
    jurisdictions,
    parse_rules,
    parse_weights,
    weight_fields,
)
from portal.auth.loader import guard_roles
from portal.domain.calls import DEFAULT_RULES, DEFAULT_WEIGHTS
from portal.extensions import db
from portal.models import NonPaymentReason, Role, TaskReason
from portal.services import call_reasons, call_scripts, settings

bp = Blueprint("call_settings", __name__)
guard_roles(bp, [Role.ADMIN])

MAX_LABEL = 120
MAX_SCRIPT = 4000


# -- reasons for not paying ---------------------------------------------------------------------


@bp.route("/call-reasons", methods=["GET", "POST"])
def reasons():
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = _reason_action(request.form.get("action", ""))
        if not errors:
            db.session.commit()
            return redirect(url_for(".reasons"))
        db.session.rollback()
    return render_template("agency/call_settings/reasons.html",
                           reasons=call_reasons.all_reasons(), used=call_reasons.used_ids(),
                           errors=errors, form=request.form if errors else {},
                           ), 422 if errors else 200


def _labels(prefix: str) -> tuple[str, str, dict[str, str]]:
    label_en = request.form.get(f"{prefix}label_en", "").strip()
    label_nl = request.form.get(f"{prefix}label_nl", "").strip()
    errors = {}
    for name, value in (("label_en", label_en), ("label_nl", label_nl)):
        if not value:
            errors[f"{prefix}{name}"] = _("Fill in the words for this language.")
        elif len(value) > MAX_LABEL:
            errors[f"{prefix}{name}"] = _("At most %(n)s characters.", n=MAX_LABEL)
    return label_en, label_nl, errors


def _reason_action(action: str) -> dict[str, str]:
    """Carry out one change from the reasons page; returns the errors (none: done)."""
    if action == "add":
        label_en, label_nl, errors = _labels("new-")
        if not errors:
            call_reasons.add(label_en, label_nl, user=current_user)
            flash(_("The reason is added."), "success")
        return errors
    if action == "defaults":
        added = call_reasons.add_defaults(user=current_user)
        flash(_("%(n)s usual reasons added.", n=added), "success")
        return {}
    reason = db.session.get(NonPaymentReason, request.form.get("reason_id", type=int) or 0)
    if reason is None:
        return {"reason_id": _("This reason no longer exists.")}
    if action == "rename":
        label_en, label_nl, errors = _labels(f"{reason.id}-")
        if not errors:
            call_reasons.rename(reason, label_en, label_nl, user=current_user)
            flash(_("The reason is renamed."), "success")
        return errors
    if action in ("up", "down"):
        call_reasons.move(reason, -1 if action == "up" else 1, user=current_user)
    elif action in ("deactivate", "activate"):
        call_reasons.set_active(reason, action == "activate", user=current_user)
        flash(_("Callers no longer see this reason.") if action == "deactivate"
              else _("Callers can pick this reason again."), "success")
    elif action == "delete":
        try:
            call_reasons.delete(reason, user=current_user)
        except call_reasons.ReasonRefused:
            return {f"{reason.id}-delete": _(
                "Calls recorded this reason, so it cannot be deleted; deactivate it instead.")}
        flash(_("The reason is deleted."), "success")
    else:
        abort(400)
    return {}


# -- scripts ------------------------------------------------------------------------------------


@bp.route("/call-scripts", methods=["GET", "POST"])
def scripts():
    keys = [(reason, language) for reason in TaskReason for language in call_scripts.LANGUAGES]
    stored = call_scripts.stored_scripts()
    texts = {key: stored[key].body if key in stored else call_scripts.default_script(*key)
             for key in keys}
    errors: dict[tuple[TaskReason, str], str] = {}
    if request.method == "POST":
        given = {key: request.form.get(f"script-{key[0]}-{key[1]}", texts[key]) for key in keys}
        errors = {key: _("At most %(n)s characters.", n=MAX_SCRIPT)
                  for key, text in given.items() if len(text) > MAX_SCRIPT}
        if not errors:
            for key, text in given.items():
                if text.strip().replace("\r\n", "\n") != texts[key]:
                    call_scripts.save(*key, text, user=current_user)
            db.session.commit()
            flash(_("The scripts are saved."), "success")
            return redirect(url_for(".scripts"))
        texts = given
    return render_template("agency/call_settings/scripts.html", keys=keys, texts=texts,
                           stored=stored, errors=errors,
                           reason_labels=labels()["reason_labels"],
                           defaults={k: call_scripts.default_script(*k) for k in keys},
                           ), 422 if errors else 200


# -- weights and contact rules ------------------------------------------------------------------


@bp.route("/calls", methods=["GET", "POST"])
def calls():
    places = jurisdictions(current_app.config["JURISDICTION"])
    weights = settings.get("call.weights", DEFAULT_WEIGHTS)
    rules = {j: settings.get(f"call.rules.{j}", DEFAULT_RULES.as_dict()) for j in places}
    errors: dict[str, str] = {}
    if request.method == "POST":
        new_weights, errors = parse_weights(request.form)
        new_rules = {}
        for j in places:
            new_rules[j], rule_errors = parse_rules(request.form, j)
            errors.update(rule_errors)
        if not errors:
            if new_weights != weights:
                settings.put("call.weights", new_weights, user=current_user)
            for j in places:
                if new_rules[j] != rules[j]:
                    settings.put(f"call.rules.{j}", new_rules[j], user=current_user)
            db.session.commit()
            flash(_("The call settings are saved."), "success")
            return redirect(url_for(".calls"))
    return render_template(
        "agency/call_settings/calls.html", places=places, rules=rules,
        weight_fields=weight_fields(weights),
        defaults=DEFAULT_RULES.as_dict(), rule_fields=RULE_FIELDS, errors=errors,
        form=request.form if errors else None,
    ), 422 if errors else 200


agency_bp.register_blueprint(bp, url_prefix="/settings")
