"""Generated customers for the scale benchmark: realistic, deterministic, fast to make.

Names come from common US first names and surnames (so a surname matches ~2% of customers and
`son` ~14%), emails are `first.last.N@domain`, phones `+1 555 …`, DIDs base58 like ABT DIDs, and
`metadata.tier` takes one of three values. `rows(n, seed)` yields the bodies of `POST
/api/customers`; `write_jsonl` writes them as an import file.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Margaret",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Andrew",
    "Emily",
    "Paul",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Ronald",
    "Dorothy",
    "Jason",
    "Rebecca",
    "Edward",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Amy",
    "Gary",
    "Kathleen",
    "Nicholas",
    "Angela",
    "Eric",
    "Shirley",
    "Jonathan",
    "Brenda",
    "Stephen",
    "Emma",
    "Larry",
    "Anna",
    "Justin",
    "Pamela",
    "Scott",
    "Nicole",
    "Brandon",
    "Samantha",
    "Benjamin",
    "Katherine",
    "Samuel",
    "Christine",
    "Gregory",
    "Helen",
    "Alexander",
    "Debra",
    "Patrick",
    "Rachel",
    "Frank",
    "Carolyn",
    "Raymond",
    "Janet",
    "Jack",
    "Maria",
    "Dennis",
    "Catherine",
    "Jerry",
    "Heather",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
]
DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "example.io")
TIERS = ("gold", "silver", "bronze")
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def did(rng: random.Random) -> str:
    return "z" + "".join(rng.choices(BASE58, k=35))


def rows(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`n` customer bodies; the same `seed` gives the same rows."""
    rng = random.Random(seed)
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        yield {
            "did": did(rng),
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}.{i}@{rng.choice(DOMAINS)}",
            "phone": f"+1555{rng.randrange(10**7):07d}",
            "metadata": {"tier": rng.choice(TIERS)},
        }


def write_jsonl(path: Path, n: int, seed: int = 1) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows(n, seed):
            out.write(json.dumps(row, separators=(",", ":")))
            out.write("\n")
