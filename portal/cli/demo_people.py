"""The demo's cast: three Dutch clients and made-up debtors with believable Dutch details.

Email addresses use the reserved `.example` top-level domain (RFC 2606) so that a demo can
never mail a real person, whatever SMTP server it is pointed at.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.models import CallOutcome, DebtorKind, DisputeReason

MIN_EUR = 35.0
MAX_EUR = 12_000.0

DUTCH_FIRST = (
    "Jan", "Pieter", "Kees", "Henk", "Sander", "Thijs", "Daan", "Bram", "Lucas", "Ruben", "Joost",
    "Maarten", "Wouter", "Bas", "Mark", "Emma", "Sophie", "Julia", "Anna", "Lisa", "Sanne",
    "Fleur", "Iris", "Lotte", "Marieke", "Ingrid", "Femke", "Noor", "Eline", "Yvonne", "Mohamed",
    "Fatima", "Ahmet", "Ayşe", "Zoë", "Sven", "Tim", "Kim", "Rob", "Marloes",
)
DUTCH_LAST = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf",
    "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
    "van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "van der Heijden",
    "Schouten", "van Beek", "Willems", "Hoekstra", "Maas", "Verhoeven", "Koster", "Prins",
    "Blom", "Huisman", "El Amrani", "Yılmaz", "Öztürk", "Bouzid", "Kramer",
)
ENGLISH_FIRST = ("James", "Oliver", "Emily", "Charlotte", "Thomas", "Sarah", "Daniel", "Hannah",
                 "Michael", "Laura", "David", "Rachel", "Andrew", "Grace", "Priya", "Liam")
ENGLISH_LAST = ("Smith", "Johnson", "Williams", "Brown", "Taylor", "Wilson", "Davies", "Evans",
                "Walker", "Wright", "Thompson", "Robinson", "Clarke", "Hughes", "O'Brien",
                "Murphy", "Patel", "Campbell")
TRADES = ("Bouwbedrijf", "Installatiebedrijf", "Schildersbedrijf", "Loodgietersbedrijf",
          "Hoveniersbedrijf", "Autobedrijf", "Klusbedrijf", "Timmerbedrijf", "Dakdekkersbedrijf",
          "Elektrotechniek")
TRADE_SUFFIXES = ("Installaties", "Techniek", "Bouw", "Onderhoud", "Verhuur", "Transport")
SHOP_NAMES = ("De Groene Tuin", "Het Bakkershuys", "Café De Zwaan", "Brasserie 't Hoekje",
              "Kapsalon Knipt", "Fietsenmakerij De Spaak", "Bloemsierkunst Roos",
              "Lunchroom De Kaasschaaf", "Drukkerij Het Vlak", "Zonwering Noord",
              "Bakkerij De Korenaar", "Dierenkliniek Hoef & Poot", "Restaurant De Gouden Leeuw")
ENGLISH_FIRMS = (("Northbridge", "Harbour", "Bluewater", "Greenway", "Silverline", "Redwood",
                  "Brightside", "Oakfield", "Lighthouse", "Kingsley"),
                 ("Consulting", "Digital", "Events", "Logistics", "Media", "Trading", "Design",
                  "Software", "Catering", "Properties"))
PERSON_MAIL = ("ziggo.example", "kpnmail.example", "gmail.example", "hotmail.example",
               "outlook.example", "xs4all.example", "live.example")
# (city, area code, lowest and highest four-digit postal code)
CITIES = (
    ("Amsterdam", "20", 1011, 1109), ("Rotterdam", "10", 3011, 3089),
    ("Den Haag", "70", 2491, 2599),
    ("Utrecht", "30", 3511, 3585), ("Eindhoven", "40", 5611, 5658), ("Groningen", "50", 9711, 9747),
    ("Tilburg", "13", 5011, 5049), ("Almere", "36", 1311, 1359), ("Breda", "76", 4811, 4839),
    ("Nijmegen", "24", 6511, 6546), ("Haarlem", "23", 2011, 2037), ("Arnhem", "26", 6811, 6846),
    ("Amersfoort", "33", 3811, 3829), ("Zwolle", "38", 8011, 8043), ("Leiden", "71", 2311, 2334),
    ("Maastricht", "43", 6211, 6229), ("Delft", "15", 2611, 2629), ("Enschede", "53", 7511, 7548),
    ("Apeldoorn", "55", 7311, 7339), ("'s-Hertogenbosch", "73", 5211, 5249),
)
STREETS = ("Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Julianastraat",
           "Wilhelminalaan", "Beatrixstraat", "Schoolstraat", "Lindelaan", "Eikenlaan",
           "Parallelweg", "Nieuwstraat", "Havenstraat", "Tulpstraat", "Rozenstraat",
           "Oranjestraat", "Rembrandtlaan", "Vondelstraat", "Spoorstraat", "Hoofdstraat",
           "Burgemeester de Withstraat", "Prinses Irenestraat", "Van Goghstraat", "Marktplein",
           "Industrieweg", "Zuiderzeestraat", "Bloemgracht", "Amstelveenseweg")
HOUSE_SUFFIXES = ("", "", "", "", "", "", "A", "B", "-1", "-2", " hs")

REMINDERS = ("Reminder sent by email", "Reminder letter sent", "Text message reminder sent")
# (outcome, reason code for a conversation, note) of the demo's calls.
CALL_OUTCOMES = (
    (CallOutcome.NO_ANSWER, None, "No answer."),
    (CallOutcome.VOICEMAIL, None, "Voicemail left, asked to call back."),
    (CallOutcome.NO_ANSWER, None, "Number busy."),
    (CallOutcome.OTHER, "forgot", "Spoke with the debtor: will look into it and call back."),
    (CallOutcome.OTHER, "cannot_pay_now", "Spoke with the debtor: pays at the end of the month."),
)
# (reason, the debtor's own words) of the demo's disputes.
DISPUTES = (
    (DisputeReason.COMPLAINT, "I sent the goods back within 14 days and never got a refund."),
    (DisputeReason.INVOICE_ERROR, "We agreed a lower price on the phone; this invoice is "
     "for the list price."),
    (DisputeReason.COMPLAINT, "The work was never finished: the bathroom still has no tiles."),
    (DisputeReason.ALREADY_PAID, "I cancelled my membership in time and paid the last month "
     "by bank transfer."),
)
QUESTIONS = (
    "Can I pay this in two parts? I get paid on the 25th.",
    "I never received the original invoice. Can you send it to me?",
    "I paid part of this last week by bank transfer. Is that on the account yet?",
    "Ik heb deze maand weinig geld. Kan ik volgende maand betalen?",
)
HOLD_REASONS = ("Paused at the client's request: talking to the customer directly",
                "Paused at the client's request: checking a credit note")
WRITE_OFF_REASONS = ("debtor admitted to debt restructuring (WSNP)",
                     "no income or assets found", "business went bankrupt",
                     "debtor moved abroad, address unknown")
WITHDRAW_REASONS = ("settled directly with the customer", "invoice cancelled after a complaint",
                    "goodwill: long-standing customer")


def nl_iban(bank: str, account: str) -> str:
    """A Dutch IBAN with correct check digits (ISO 13616 mod 97) for a made-up account."""
    bban = bank + account.zfill(10)
    digits = "".join(str(int(ch, 36)) for ch in bban + "NL00")
    return f"NL{98 - int(digits) % 97:02d}{bban}"


@dataclass(frozen=True)
class ClientProfile:
    """A client of the agency, and what its invoices look like."""

    name: str
    email: str
    phone: str
    address: str
    iban: str
    vat_on_costs: bool  # a VAT-exempt creditor cannot deduct VAT on collection costs
    contact: str  # the client user's name
    number_format: str
    term_days: int
    prices: dict[DebtorKind, tuple[float, float, float]]  # median, spread, top in euros
    price_style: str  # retail (x.95), tariff (steps of 2.50) or exact
    items: dict[DebtorKind, tuple[str, ...]]
    description: str

    def amount(self, rng: random.Random, kind: DebtorKind) -> int:
        """An invoice amount in cents: log-normal, so most are small and a few are large."""
        median, spread, top = self.prices[kind]
        euros = min(max(rng.lognormvariate(math.log(median), spread), MIN_EUR), top)
        cents = round(euros * 100)
        if self.price_style == "retail":
            return cents // 100 * 100 + 95
        if self.price_style == "tariff":
            return max(round(cents / 250) * 250, round(MIN_EUR * 100))
        return cents

    def describe(self, rng: random.Random, kind: DebtorKind, invoice_date: date) -> str:
        year = invoice_date.year
        season_start = year if invoice_date.month >= 8 else year - 1
        item = rng.choice(self.items[kind]).format(
            season=f"{season_start}/{season_start + 1}", year=year)
        return self.description.format(item=item, order=rng.randint(100_000, 999_999))


_WEBSHOP_ITEMS = ("pannenset RVS 5-delig", "espressomachine Barista Pro", "messenblok met 6 messen",
                  "airfryer XL 5,5 liter", "gietijzeren braadpan 28 cm", "keukenrobot 1000 W",
                  "servies 18-delig", "staafmixer met hakmolen")
_WHOLESALE_ITEMS = ("HR-combiketel 28 kW met montageset", "koperen buis 15/22 mm en knelfittingen",
                    "badkamermeubel 80 cm met kraan", "PVC-afvoer 110 mm en hulpstukken",
                    "vloerverwarmingsverdeler 8 groepen", "thermostatische radiatorkranen (12 st.)",
                    "warmtepomp lucht/water 7 kW", "sanitairpakket toiletruimte")
CLIENTS = (
    ClientProfile(
        "Kookhuis Online B.V.", "debiteuren@kookhuis.example", "+31 20 794 3310",
        "Keizersgracht 221, 1016 DV Amsterdam", nl_iban("ABNA", "417164300"), False,
        "Eva de Boer", "KO-{year}-{seq:05d}", 14,
        {DebtorKind.PERSON: (70, 0.8, 2500), DebtorKind.BUSINESS: (180, 0.8, 4000)}, "retail",
        {DebtorKind.PERSON: _WEBSHOP_ITEMS, DebtorKind.BUSINESS: _WEBSHOP_ITEMS},
        "Bestelling #{order}: {item}"),
    ClientProfile(
        "Van Leeuwen Sanitair Groothandel B.V.", "administratie@vanleeuwen-sanitair.example",
        "+31 30 246 8100", "Industrieweg 14, 3542 AD Utrecht", nl_iban("RABO", "3015244171"),
        False, "Marco van Leeuwen", "VL{year}-{seq:05d}", 30,
        {DebtorKind.PERSON: (450, 0.7, 6000), DebtorKind.BUSINESS: (900, 1.0, MAX_EUR)}, "exact",
        {DebtorKind.PERSON: _WHOLESALE_ITEMS, DebtorKind.BUSINESS: _WHOLESALE_ITEMS},
        "Levering {item}, order {order}"),
    ClientProfile(
        "Sportvereniging De Zwaluwen", "penningmeester@dezwaluwen.example", "+31 33 455 1290",
        "Sportparklaan 5, 3824 MB Amersfoort", nl_iban("INGB", "6632015"), True,
        "Henk Kramer", "ZW-{year}-{seq:04d}", 30,
        {DebtorKind.PERSON: (140, 0.5, 600), DebtorKind.BUSINESS: (750, 0.4, 2500)}, "tariff",
        {DebtorKind.PERSON: ("Contributie seizoen {season}", "Contributie {season}, 2e termijn",
                             "Clubkleding: trainingspak en tas", "Inschrijving jeugdkamp {year}",
                             "Boete tuchtcommissie (rode kaart)"),
         DebtorKind.BUSINESS: ("Sponsorbijdrage reclamebord seizoen {season}",
                               "Sponsorpakket Zilver seizoen {season}")},
        "{item}"),
)


def fake_debtor(rng: random.Random, index: int) -> dict[str, Any]:
    """Fields for a made-up debtor. Index 0 is a Dutch consumer, 1 an English-speaking business
    (the two featured in the summary); the rest are ~30 % businesses and ~15 % English."""
    business = index == 1 or (index > 1 and rng.random() < 0.30)
    english = index == 1 or (index > 1 and rng.random() < 0.15)
    person = _person(rng, english)
    city, area, low, high = rng.choice(CITIES)
    name = _business(rng, english) if business else person
    return {
        "kind": DebtorKind.BUSINESS if business else DebtorKind.PERSON,
        "name": name,
        "contact_person": person if business else None,
        "email": _email(rng, name if business else person, business, english, index),
        "phone": _phone(rng, area if business else None, index),
        "address_line": f"{rng.choice(STREETS)} {rng.randint(1, 180)}{rng.choice(HOUSE_SUFFIXES)}",
        "postal_code": f"{rng.randint(low, high)} {_postal_letters(rng)}",
        "city": city,
        "country": "NL",
        "language": "en" if english else "nl",
    }


def _person(rng: random.Random, english: bool) -> str:
    if english:
        return f"{rng.choice(ENGLISH_FIRST)} {rng.choice(ENGLISH_LAST)}"
    return f"{rng.choice(DUTCH_FIRST)} {rng.choice(DUTCH_LAST)}"


def _business(rng: random.Random, english: bool) -> str:
    if english:
        first, second = (rng.choice(words) for words in ENGLISH_FIRMS)
        return f"{first} {second} {rng.choice(('B.V.', 'B.V.', 'Ltd'))}"
    surname = _capitalised(rng.choice(DUTCH_LAST))
    pattern = rng.random()
    if pattern < 0.5:
        base = f"{rng.choice(TRADES)} {surname}"
    elif pattern < 0.7:
        base = f"{surname} {rng.choice(TRADE_SUFFIXES)}"
    else:
        base = rng.choice(SHOP_NAMES)
    form = rng.choices(("B.V.", "V.O.F.", ""), (45, 15, 40))[0]
    return f"{base} {form}".strip()


def _capitalised(surname: str) -> str:
    """'van Dijk' -> 'Van Dijk': a Dutch prefix takes a capital when no first name precedes."""
    return surname[0].upper() + surname[1:]


def _email(rng: random.Random, name: str, business: bool, english: bool, index: int) -> str | None:
    if index > 1 and rng.random() < 0.08:
        return None  # some debtors only ever gave a postal address
    if business:
        mailbox = rng.choice(("accounts", "finance", "info") if english
                             else ("administratie", "info", "facturen"))
        words = [w for w in name.split() if w not in {"B.V.", "V.O.F.", "Ltd"}]
        return f"{mailbox}@{ascii_slug(''.join(words))}.example"
    first, *rest = name.split()
    local = rng.choice((f"{first}.{''.join(rest)}", f"{first[0]}.{''.join(rest)}",
                        f"{first}{''.join(rest)}{rng.randint(1, 99)}"))
    return f"{ascii_slug(local, keep='.')}@{rng.choice(PERSON_MAIL)}"


def _phone(rng: random.Random, area: str | None, index: int) -> str | None:
    if index > 1 and rng.random() < 0.12:
        return None
    if area is None:  # people give a mobile number
        return f"+31 6 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    return f"+31 {area} {rng.randint(200, 899)} {rng.randint(1000, 9999)}"


def _postal_letters(rng: random.Random) -> str:
    while True:
        letters = "".join(rng.choice("ABCDEGHJKLMNPRSTVWXZ") for _ in range(2))
        if letters not in {"SA", "SD", "SS"}:  # combinations PostNL does not use
            return letters


def ascii_slug(text: str, keep: str = "") -> str:
    """'Zoë van den Berg' -> 'zoevandenberg', for made-up email addresses."""
    plain = unicodedata.normalize("NFKD", text.replace("ı", "i"))
    plain = plain.encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in plain if ch.isalnum() or ch in keep)
