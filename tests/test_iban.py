"""IBANs as typed by an admin or a client: the compact form, or the reason they are refused."""

import pytest

from portal.banking.iban import IbanError, bic_for, clean_iban, is_valid_iban


@pytest.mark.parametrize(
    ("text", "compact"),
    [
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),
        ("NL91 ABNA 0417 1643 00", "NL91ABNA0417164300"),  # as printed on a card
        ("nl91abna0417164300", "NL91ABNA0417164300"),
        ("\tnl91 abna 0417 1643 00\n", "NL91ABNA0417164300"),  # pasted with tab and newline
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("BE68539007547034", "BE68539007547034"),
        ("FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),  # letters inside
        ("GB33BUKB20201555555555", "GB33BUKB20201555555555"),  # SEPA, outside the EEA
        ("CH9300762011623852957", "CH9300762011623852957"),
        ("NO9386011117947", "NO9386011117947"),  # the shortest in SEPA
        ("MC5811222000010123456789030", "MC5811222000010123456789030"),
    ],
)
def test_clean_iban_gives_the_compact_form(text, compact):
    assert clean_iban(text) == compact
    assert is_valid_iban(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "empty"),
        ("", "empty"),
        ("   \t", "empty"),
        ("NL92ABNA0417164300", "checksum"),  # one digit off in the check digits
        ("NL91ABNA0417164301", "checksum"),  # one digit off in the account
        ("NL19ABNA0417164300", "checksum"),  # two digits swapped
        ("NL91ABNA041716430", "length"),
        ("NL91ABNA04171643000", "length"),
        ("XX91ABNA0417164300", "country"),
        ("US8412345678901234", "country"),  # the US has no IBAN
        ("NL91-ABNA-0417-1643-00", "structure"),
        ("12345678", "structure"),
        ("NL54ABNA041716430A", "structure"),  # a letter where the NL layout has digits
        ("NL921234ABNA041716", "structure"),  # digits where the bank code has letters
        ("SA0380000000608010167519", "not_sepa"),
        ("XK051212012345678906", "not_sepa"),  # Kosovo: IBAN, but not SEPA
    ],
)
def test_clean_iban_refuses_with_a_reason(text, reason):
    with pytest.raises(IbanError) as refused:
        clean_iban(text)
    assert refused.value.reason == reason
    assert str(refused.value) == IbanError.REASONS[reason]
    assert not is_valid_iban(text)


def test_an_unknown_dutch_bank_code_is_refused():
    # check digits correct, but no Dutch bank has the code XXXX (the Dutch list is closed)
    with pytest.raises(IbanError) as refused:
        clean_iban("NL56XXXX0417164300")
    assert refused.value.reason == "bank"


def test_iban_error_is_a_value_error_for_every_reason():
    for reason, sentence in IbanError.REASONS.items():
        error = IbanError(reason)
        assert isinstance(error, ValueError)
        assert (error.reason, str(error)) == (reason, sentence)


@pytest.mark.parametrize(
    ("iban", "bic"),
    [
        ("NL91ABNA0417164300", "ABNANL2A"),
        ("NL20INGB0001234567", "INGBNL2A"),
        ("NL44RABO0123456789", "RABONL2U"),
        ("DE89370400440532013000", "COBADEFFXXX"),
        ("GB33BUKB20201555555555", "BUKBGB22"),
        ("BE68539007547034", None),  # a bank schwifty's registry does not know
        ("NL56XXXX0417164300", None),
    ],
)
def test_bic_for(iban, bic):
    assert bic_for(iban) == bic
