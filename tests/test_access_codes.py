"""Access codes are kept as a keyed hash bound to their case."""

import pytest

from portal.domain.references import ACCESS_CODE_ALPHABET, normalise_access_code
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


def test_a_letter_prints_the_code_the_debtor_signs_in_with(app, make):
    case, code = make.case()
    assert access_codes.printable_code(case) == code  # derived again, the same every time
    assert access_codes.printable_code(case) == code


def test_a_case_without_a_nonce_gets_a_new_code_once(app, make):
    case, old_code = make.case()
    case.access_code_nonce = ""  # as a case opened before codes were derivable
    new_code = access_codes.printable_code(case)
    assert new_code == access_codes.printable_code(case)
    assert access_codes.matches(case.access_code_hash, case.reference,
                                normalise_access_code(new_code))
    if new_code != old_code:
        assert not access_codes.matches(case.access_code_hash, case.reference,
                                        normalise_access_code(old_code))


@pytest.mark.parametrize("reference", ["K-2026-000001", "K-2026-000002", "K-2031-123456"])
def test_derived_codes_are_printable(app, reference):
    code = access_codes.code_for(reference, access_codes.new_nonce())
    assert len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set(ACCESS_CODE_ALPHABET)
    assert access_codes.code_for(reference, "n1") != access_codes.code_for(reference, "n2")
