"""Reproducible, realistic-looking people for demos, tests and benchmarks.

Same ``seed`` and ``count``, same people, on every machine and Python version:
everything comes from one ``random.Random(seed)`` drawing from the fixed lists
below (``random.Random``'s algorithms for ``choice``/``randrange`` are stable).
No Faker: a few hundred names are plenty and keep the dependency list short.
"""

from __future__ import annotations

import datetime
import random
import unicodedata
from collections.abc import Iterator
from typing import Final

from ._schema import Person

__all__ = ["CITIES", "FIRST_NAMES", "LAST_NAMES", "generate_people"]

FIRST_NAMES: Final = (
    "Reuven", "Atara", "Shikma", "Amotz", "Anna", "Maria", "Sofia", "Emma", "Olivia", "Mia",
    "Noah", "Liam", "Lucas", "Elias", "Leon", "Oliver", "Amara", "Chiamaka", "Kwame", "Kofi",
    "Ayodele", "Thandiwe", "Zanele", "Sipho", "Wanjiru", "Njeri", "Amina", "Fatima", "Omar",
    "Yusuf", "Layla", "Zeynep", "Emre", "Mehmet", "Aylin", "Priya", "Ananya", "Arjun", "Rohan",
    "Aarav", "Diya", "Wei", "Mei", "Hiroshi", "Yuki", "Haruto", "Sakura", "Min-jun", "Seo-yeon",
    "Nguyen", "Linh", "José", "Lucía", "Mateo", "Valentina", "Santiago", "Camila", "João",
    "Beatriz", "Thiago", "Léa", "Chloé", "Hugo", "Zoé", "Jürgen", "Jörg", "Renée", "Søren",
    "Åsa", "Björn", "Ingrid", "Sven", "Niamh", "Siobhán", "Seán", "Aoife", "Dmitri", "Olga",
    "Ivan", "Natalia", "Katarzyna", "Piotr", "Zofia", "Tomasz", "Eleni", "Giorgos", "Giulia",
    "Lorenzo", "Francesca", "Marco", "Ruth", "David", "Sarah", "Michael", "James", "Mary",
    "Robert", "Patricia", "Jennifer", "Daniel", "Grace", "Samuel", "Hannah", "Benjamin", "Noa",
    "Tamar", "Yael", "Avi", "O'Neil", "Anne-Marie",
)  # fmt: skip

LAST_NAMES: Final = (
    "Lerner", "Friedman", "Cohen", "Levi", "Mizrahi", "Smith", "Johnson", "Williams", "Brown",
    "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernández", "López",
    "González", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "King", "Wright",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Dubois", "Lefèvre", "Moreau", "Laurent", "Rossi", "Russo", "Ferrari", "Esposito",
    "Bianchi", "Silva", "Santos", "Oliveira", "Pereira", "Costa", "Nowak", "Kowalski",
    "Wiśniewski", "Ivanov", "Smirnov", "Kuznetsov", "Popescu", "Papadopoulos", "Jensen",
    "Nielsen", "Hansen", "Johansson", "Andersson", "Virtanen", "O'Brien", "Murphy", "Kelly",
    "Nakamura", "Tanaka", "Suzuki", "Kim", "Park", "Choi", "Wang", "Li", "Zhang", "Chen",
    "Nguyen", "Tran", "Patel", "Sharma", "Singh", "Gupta", "Khan", "Ahmed", "Hassan", "Ali",
    "Yilmaz", "Kaya", "Okafor", "Adeyemi", "Mensah", "Mwangi", "Dlamini", "Van der Berg",
    "De Vries", "Janssen", "García-Márquez",
)  # fmt: skip

CITIES: Final = (
    "Haifa", "Tel Aviv", "Jerusalem", "Modi'in", "Chicago", "New York", "San Francisco",
    "Toronto", "Montréal", "Mexico City", "São Paulo", "Buenos Aires", "Bogotá", "Lima",
    "London", "Dublin", "Paris", "Lyon", "Berlin", "München", "Zürich", "Wien", "Amsterdam",
    "Brussels", "Copenhagen", "Stockholm", "Oslo", "Helsinki", "Warsaw", "Kraków", "Prague",
    "Budapest", "Athens", "Rome", "Milan", "Madrid", "Barcelona", "Lisbon", "Istanbul",
    "Cairo", "Lagos", "Accra", "Nairobi", "Cape Town", "Johannesburg", "Kigali", "Mumbai",
    "Bengaluru", "Delhi", "Singapore", "Hong Kong", "Shanghai", "Beijing", "Seoul", "Tokyo",
    "Osaka", "Hanoi", "Sydney", "Melbourne", "Auckland",
)  # fmt: skip

_DOMAINS: Final = (
    "example.com", "example.org", "example.net", "mail.example", "post.example",
)  # fmt: skip

_OLDEST: Final = datetime.date(1930, 1, 1).toordinal()
_YOUNGEST: Final = datetime.date(2010, 12, 31).toordinal()


def generate_people(count: int, seed: int = 0) -> Iterator[Person]:
    """Yield ``count`` people with ids ``1..count``, reproducibly from ``seed``.

    Emails are unique (the id is part of them); names, cities and birth dates
    repeat, as they do in real data, so queries have interesting answers.
    """
    rng = random.Random(seed)
    choice, randint = rng.choice, rng.randint
    for pid in range(1, count + 1):
        first, last = choice(FIRST_NAMES), choice(LAST_NAMES)
        birth = datetime.date.fromordinal(randint(_OLDEST, _YOUNGEST))
        local = f"{_EMAIL_NAMES[first]}.{_EMAIL_NAMES[last]}{pid}"
        yield Person(pid, first, last, birth, choice(CITIES), f"{local}@{choice(_DOMAINS)}")


def _ascii(name: str) -> str:
    """``"García-Márquez"`` -> ``"garcia-marquez"``: email local parts stay ASCII."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return plain.lower().replace(" ", "").replace("'", "")


_EMAIL_NAMES: Final = {name: _ascii(name) for name in FIRST_NAMES + LAST_NAMES}
