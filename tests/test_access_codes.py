"""Access codes are kept as a keyed hash bound to their case."""

from portal.domain.references import normalise_access_code
from portal.services import access_codes


def test_the_stored_form_hides_the_code_and_is_bound_to_the_case(app, make):
    case, code = make.case()
    plain = normalise_access_code(code)
    assert plain not in case.access_code_hash
    assert case.access_code_hash.startswith(access_codes.PREFIX)
    assert access_codes.matches(case.access_code_hash, case.reference, plain)
    # The same code on another case does not fit: the reference is part of the hash.
    assert not access_codes.matches(case.access_code_hash, "K-2026-999999", plain)
    assert access_codes.hash_code("K-2026-000001", plain) != access_codes.hash_code(
        "K-2026-000002", plain
    )


def test_a_wrong_code_does_not_fit(app, make):
    case, code = make.case()
    wrong = normalise_access_code(code)[:-1] + ("A" if not code.endswith("A") else "B")
    assert not access_codes.matches(case.access_code_hash, case.reference, wrong)


def test_another_key_voids_the_codes(app, make):
    case, code = make.case()
    plain = normalise_access_code(code)
    app.config["ACCESS_CODE_KEY"] = "a different key"
    assert not access_codes.matches(case.access_code_hash, case.reference, plain)
