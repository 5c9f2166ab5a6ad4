"""Prose-like English sentence generator for the synthetic corpus.

A small template grammar over :mod:`voxjax.corpus.vocabulary`: subject-verb-object clauses with
adjectives, prepositional phrases, subordinate and relative clauses, questions, quotations, and
sentences with numbers, years, dates ("March 5, 1998"), money ("$3.50"), times ("3:30"),
ordinals ("21st"), percentages and titles ("Dr.", "Mr."), all in forms that
:func:`voxjax.text.verbalize` writes out. Verbs and adjectives are drawn from lists that fit the
noun's kind, so sentences read as plausible prose. Deterministic for a seed (numpy Generator).
"""
from __future__ import annotations

import numpy as np

from voxjax import text as textlib
from voxjax.corpus import vocabulary as V

_AN_EXCEPTIONS = {"university", "unit", "user", "european", "one", "uniform", "unusual", "useful"}
_SILENT_H = {"hour", "honest", "honor", "heir"}
_PRONOUNS = {"I": (False, 1), "you": (True, 2), "he": (False, 3), "she": (False, 3),
             "we": (True, 1), "they": (True, 3)}
_OBJECT_PRONOUN = {"I": "me", "he": "him", "she": "her", "we": "us", "they": "them", "you": "you"}
# Words that must not end a sentence: "... the co." would be read as an abbreviation.
_ABBREV_WORDS = {"mr", "mrs", "ms", "dr", "prof", "st", "ave", "rd", "mt", "jr", "sr", "co",
                 "corp", "inc", "ltd", "no", "vs", "etc", "approx", "jan", "feb", "mar", "apr",
                 "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "km", "kg", "cm"}
# (nouns, adjectives, verbs taking this kind of object)
_KINDS = {
    "person": (V.PEOPLE, V.ADJ_PERSON, V.VERBS_PERSON),
    "object": (V.OBJECTS, V.ADJ_OBJECT, V.VERBS_OBJECT),
    "food": (V.FOOD, V.ADJ_FOOD, V.VERBS_FOOD),
    "place": (V.PLACES, V.ADJ_PLACE, V.VERBS_PLACE),
    "idea": (V.IDEAS, V.ADJ_IDEA, V.VERBS_IDEA),
    "event": (V.EVENTS, V.ADJ_EVENT, V.VERBS_EVENT),
    "animal": (V.ANIMALS, V.ADJ_ANIMAL, V.VERBS_ANIMAL),
}
_KIND_WEIGHTS = {"person": 3, "object": 4, "food": 2, "place": 2, "idea": 3, "event": 2, "animal": 2}


# ----------------------------------------------------------------------------- morphology

def pluralize(noun: str) -> str:
    """English plural of a countable noun (irregular list, then spelling rules)."""
    if noun in V.IRREGULAR_PLURALS:
        return V.IRREGULAR_PLURALS[noun]
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def article(word: str) -> str:
    """``a`` or ``an`` for the word that follows (spelling-based, with common exceptions)."""
    w = word.lower()
    if w in _SILENT_H:
        return "an"
    if w in _AN_EXCEPTIONS or w.startswith(("uni", "use", "eu")):
        return "a"
    return "an" if w[0] in "aeiou" else "a"


def _inflect(verb: str, suffix: str) -> str:
    if verb in V.DOUBLING:
        verb = verb + verb[-1]
    if suffix == "ed":
        if verb.endswith("e"):
            return verb + "d"
        if verb.endswith("y") and verb[-2] not in "aeiou":
            return verb[:-1] + "ied"
        return verb + "ed"
    # ing
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")) and verb != "be":
        return verb[:-1] + "ing"
    return verb + "ing"


def verb_form(verb: str, form: str) -> str:
    """``form`` in {base, s, past, pp, ing} of ``verb``."""
    if form == "base":
        return verb
    if form == "s":
        special = {"be": "is", "have": "has", "do": "does", "go": "goes"}
        if verb in special:
            return special[verb]
        if verb.endswith(("s", "x", "z", "ch", "sh")):
            return verb + "es"
        if verb.endswith("y") and verb[-2] not in "aeiou":
            return verb[:-1] + "ies"
        return verb + "s"
    if form in ("past", "pp"):
        if verb in V.IRREGULAR_VERBS:
            return V.IRREGULAR_VERBS[verb][0 if form == "past" else 1]
        return _inflect(verb, "ed")
    return _inflect(verb, "ing")


def conjugate(verb: str, tense: str, plural: bool, person: int = 3) -> str:
    """Finite verb phrase for a subject (``plural``, ``person``) in ``tense``."""
    third_sg = not plural and person == 3
    if tense == "past":
        return verb_form(verb, "past")
    if tense == "present":
        return verb_form(verb, "s") if third_sg else verb
    if tense == "progressive":
        be = "was" if (not plural and person in (1, 3)) else "were"
        return f"{be} {verb_form(verb, 'ing')}"
    if tense == "future":
        return f"will {verb}"
    if tense == "perfect":
        return f"{'has' if third_sg else 'have'} {verb_form(verb, 'pp')}"
    return f"{tense} {verb}"  # a modal: could, should, might, must, would


# ----------------------------------------------------------------------------- generator

class SentenceGenerator:
    """Draws sentences from the template grammar; the same seed gives the same sequence."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self._templates = [
            (self._simple, 14), (self._intransitive, 5), (self._subordinate, 9),
            (self._compound, 6), (self._relative, 5), (self._question, 9), (self._there_are, 3),
            (self._quote, 4), (self._description, 3), (self._imperative, 3), (self._money, 6),
            (self._date, 5), (self._time_of_day, 4), (self._count, 6), (self._percent, 4),
            (self._ordinal, 4), (self._year, 4), (self._address, 2),
        ]
        weights = np.array([w for _, w in self._templates], float)
        self._weights = weights / weights.sum()

    # ---- small helpers
    def pick(self, seq):
        """One element of ``seq``, uniformly."""
        return seq[int(self.rng.integers(len(seq)))]

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return bool(self.rng.random() < p)

    def _kind(self, allowed=None) -> str:
        kinds = list(allowed or _KIND_WEIGHTS)
        w = np.array([_KIND_WEIGHTS[k] for k in kinds], float)
        return kinds[int(self.rng.choice(len(kinds), p=w / w.sum()))]

    def _tense(self) -> str:
        return self.pick(("past",) * 6 + ("present",) * 2 + ("progressive", "future", "perfect",
                          "could", "should", "might", "would"))

    def _count_word(self) -> str:
        if self.chance(0.5):
            return str(int(self.rng.integers(2, 60)))
        return self.pick(("two", "three", "four", "five", "several", "a few", "many", "some", "a dozen"))

    def noun_phrase(self, kind: str, plural: bool | None = None, adjective: float = 0.45) -> tuple[str, bool]:
        """A determiner + optional adjective + noun of ``kind``; returns (text, is_plural)."""
        nouns, adjectives, _ = _KINDS[kind]
        noun = self.pick(nouns)
        if plural is None:
            plural = self.chance(0.25)
        adj = self.pick(adjectives) + " " if self.chance(adjective) else ""
        if plural:
            det = self.pick(("the", "the", "our", "their", "these", "those", self._count_word()))
            return f"{det} {adj}{pluralize(noun)}", True
        det = self.pick(("the", "the", "the", "a", "a", "my", "his", "her", "our", "their", "this", "that"))
        if det == "a":
            det = article(adj or noun)
        return f"{det} {adj}{noun}", False

    def person_name(self) -> str:
        """A first name, a surname, or a title and surname ("Dr. Lee")."""
        r = self.rng.random()
        if r < 0.35:
            return self.pick(V.TITLES) + " " + self.pick(V.SURNAMES)
        first = self.pick(V.MALE_NAMES + V.FEMALE_NAMES)
        return first if r < 0.75 else f"{first} {self.pick(V.SURNAMES)}"

    def subject(self) -> tuple[str, bool, int]:
        """A person subject: (text, plural, grammatical person)."""
        r = self.rng.random()
        if r < 0.3:
            return self.person_name(), False, 3
        if r < 0.45:
            pronoun = self.pick(tuple(_PRONOUNS))
            return pronoun, *_PRONOUNS[pronoun]
        text, plural = self.noun_phrase("person", adjective=0.4)
        return text, plural, 3

    def place_phrase(self) -> str:
        """A locative phrase: "in the old library", "near the harbor", "in Boston"."""
        if self.chance(0.2):
            return f"in {self.pick(V.CITIES)}"
        if self.chance(0.15):
            surface, _ = self.noun_phrase("object", plural=False, adjective=0.3)
            return f"{self.pick(V.PREP_OBJECT)} {surface}"
        place, _ = self.noun_phrase("place", plural=False, adjective=0.35)
        return f"{self.pick(V.PREP_PLACE)} {place}"

    def time_phrase(self, tense: str = "past") -> str:
        """A time adverbial that fits ``tense``: "last week", "on Monday", "after the concert"."""
        r = self.rng.random()
        if r < 0.55:
            specific = {"past": V.TIME_PAST, "progressive": V.TIME_PAST, "present": V.TIME_HABITUAL,
                        "perfect": ("recently", "this year", "this week", "at last")}.get(tense, V.TIME_FUTURE)
            return self.pick(specific) if self.chance(0.6) else self.pick(V.TIME_ANY)
        if r < 0.7:
            return f"on {self.pick(V.WEEKDAYS)}"
        if r < 0.8:
            return f"in {self.pick(V.MONTHS)}"
        event, _ = self.noun_phrase("event", plural=False, adjective=0.2)
        return f"{self.pick(('after', 'before', 'during'))} {event}"

    def clause(self, tense: str | None = None, extras: bool = True) -> str:
        """An independent clause: subject, verb, object and optional adverbials."""
        subj, plural, person = self.subject()
        tense = tense or self._tense()
        kind = self._kind()
        verb = self.pick(_KINDS[kind][2])
        obj, _ = self.noun_phrase(kind)
        parts = [subj]
        if tense in ("past", "present") and self.chance(0.12):
            parts.append(self.pick(V.ADVERBS_FREQUENCY))
        parts += [conjugate(verb, tense, plural, person), obj]
        if extras and self.chance(0.45):
            parts.append(self.place_phrase())
        if extras and self.chance(0.2):
            parts.append(self.pick(V.ADVERBS_MANNER))
        if extras and self.chance(0.35):
            parts.append(self.time_phrase(tense))
        return " ".join(parts)

    # ---- templates (each returns a sentence without final punctuation handling)
    def _simple(self):
        return self.clause() + "."

    def _intransitive(self):
        subj, plural, person = self.subject()
        tense = self._tense()
        if self.chance(0.5):
            verb = self.pick(V.VERBS_MOTION)
            place, _ = self.noun_phrase("place", plural=False, adjective=0.3)
            target = f"to {place}" if self.chance(0.7) else f"to {self.pick(V.CITIES)}"
            tail = f" {self.time_phrase(tense)}" if self.chance(0.6) else ""
            return f"{subj} {conjugate(verb, tense, plural, person)} {target}{tail}."
        verb = self.pick(V.VERBS_INTRANSITIVE)
        adv = f" {self.pick(V.ADVERBS_MANNER)}" if self.chance(0.5) else ""
        return f"{subj} {conjugate(verb, tense, plural, person)}{adv} {self.place_phrase()} {self.time_phrase(tense)}."

    def _subordinate(self):
        sub = self.pick(V.SUBORDINATORS)
        main, other = self.clause("past"), self.clause("past", extras=self.chance(0.3))
        if self.chance(0.5):
            return f"{main} {sub} {other}."
        return f"{sub.capitalize()} {other}, {main}."

    def _compound(self):
        conj = self.pick(V.CONJUNCTIONS)
        return f"{self.clause(extras=self.chance(0.5))}, {conj} {self.clause(extras=self.chance(0.5))}."

    def _relative(self):
        who, plural = self.noun_phrase("person", adjective=0.3)
        kind = self._kind(("object", "idea", "food", "place"))
        inner, _ = self.noun_phrase(kind)
        inner_verb = verb_form(self.pick(_KINDS[kind][2]), "past")
        kind2 = self._kind()
        obj, _ = self.noun_phrase(kind2)
        tense = self.pick(("past", "past", "future", "perfect"))
        verb = conjugate(self.pick(_KINDS[kind2][2]), tense, plural)
        if self.chance(0.5):
            return f"{who} who {inner_verb} {inner} {verb} {obj} {self.time_phrase(tense)}."
        thing, tplural = self.noun_phrase(kind, adjective=0.3)
        subj, splural, person = self.subject()
        be = "were" if tplural else "was"
        return (f"{thing} that {subj} {conjugate(self.pick(_KINDS[kind][2]), 'past', splural, person)} "
                f"{be} {self.pick(_KINDS[kind][1])} {self.place_phrase()}.")

    def _question(self):
        subj, plural, person = self.subject()
        kind = self._kind()
        verb = self.pick(_KINDS[kind][2])
        obj, _ = self.noun_phrase(kind)
        r = self.rng.random()
        if r < 0.3:
            aux = self.pick(("Did", "Will", "Could", "Should", "Would"))
            return f"{aux} {subj} {verb} {obj} {self.place_phrase()}?"
        if r < 0.6:
            wh, aux = self.pick(("Why", "When", "Where", "How")), self.pick(("did", "will"))
            return f"{wh} {aux} {subj} {verb} {obj} {self.time_phrase('past' if aux == 'did' else 'future')}?"
        if r < 0.8:
            aux = "have" if plural or person != 3 else "has"
            return f"How many {pluralize(self.pick(_KINDS[kind][0]))} {aux} {subj} {verb_form(verb, 'pp')} since {self.pick(V.MONTHS)}?"
        thing, tplural = self.noun_phrase(kind, adjective=0)
        be = "Were" if tplural else "Was"
        return f"{be} {thing} really as {self.pick(_KINDS[kind][1])} as {subj} said {self.time_phrase()}?"

    def _there_are(self):
        kind = self._kind(("object", "animal", "person", "food"))
        nouns, adjectives, _ = _KINDS[kind]
        count = self._count_word()
        return (f"There were {count} {self.pick(adjectives)} {pluralize(self.pick(nouns))} "
                f"{self.place_phrase()} {self.time_phrase()}.")

    def _quote(self):
        said = self.pick(("said", "replied", "whispered", "explained", "added", "shouted"))
        inner = self.clause(self.pick(("future", "should", "could", "present")), extras=self.chance(0.4))
        name = self.pick(V.TITLES) + " " + self.pick(V.SURNAMES) if self.chance(0.6) else self.pick(V.FEMALE_NAMES + V.MALE_NAMES)
        return f'"{inner[0].upper() + inner[1:]}," {said} {name}.'

    def _description(self):
        kind = self._kind(("place", "object", "food", "event", "animal"))
        thing, plural = self.noun_phrase(kind, adjective=0)
        adjectives = _KINDS[kind][1]
        a, b = self.pick(adjectives), self.pick(adjectives)
        while b == a:
            b = self.pick(adjectives)
        be = "were" if plural else "was"
        weather = f", and the weather was {self.pick(V.ADJ_WEATHER)}" if self.chance(0.5) else f" {self.time_phrase()}"
        return f"{thing[0].upper() + thing[1:]} {be} {a} and {b}{weather}."

    def _imperative(self):
        kind = self._kind(("object", "food", "idea", "place"))
        obj, _ = self.noun_phrase(kind)
        lead = self.pick(("Please ", "Don't forget to ", "Remember to ", "Try to ", ""))
        verb = self.pick(_KINDS[kind][2])
        return f"{lead}{verb} {obj} {self.pick(('before', 'after', 'when'))} you {self.pick(V.VERBS_INTRANSITIVE)} {self.time_phrase('future')}."

    # ---- templates with numbers
    def _money(self):
        kind = self._kind(("object", "food", "event"))
        top = {"food": 40, "event": 300, "object": 5000}[kind]
        dollars = int(self.rng.integers(1, top)) if self.chance(0.7) else int(self.rng.integers(1, 20))
        cents = int(self.rng.integers(1, 100)) if self.chance(0.4) and dollars < 500 else 0
        amount = f"${dollars:,}" + (f".{cents:02d}" if cents else "")
        thing, plural = self.noun_phrase(kind, plural=False, adjective=0.5)
        subj, splural, person = self.subject()
        if self.chance(0.5):
            return f"{thing[0].upper() + thing[1:]} cost {amount} {self.place_phrase()}."
        return f"{subj} {conjugate('pay', 'past', splural, person)} {amount} for {thing} {self.time_phrase()}."

    def _date_text(self) -> str:
        month = int(self.rng.integers(12))
        day = int(self.rng.integers(1, 29))
        year = int(self.rng.integers(1850, 2031))
        return f"{V.MONTHS[month]} {day}, {year}"

    def _date(self):
        subj, plural, person = self.subject()
        r = self.rng.random()
        if r < 0.4:
            return f"{subj} {conjugate(self.pick(('return', 'move', 'travel')), 'past', plural, person)} to {self.pick(V.CITIES)} on {self._date_text()}."
        if r < 0.7:
            event, _ = self.noun_phrase("event", plural=False, adjective=0.4)
            return f"{event[0].upper() + event[1:]} took place on {self._date_text()}, {self.place_phrase()}."
        return f"{self.pick(V.TITLES)} {self.pick(V.SURNAMES)} was born on {self._date_text()}, in {self.pick(V.CITIES)}."

    def _time_of_day(self):
        hour, minute = int(self.rng.integers(1, 13)), int(self.pick((0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55)))
        time = f"{hour}:{minute:02d}"
        event, _ = self.noun_phrase("event", plural=False, adjective=0.3)
        if self.chance(0.5):
            verb = self.pick(('starts', 'ends', 'started', 'ended'))
            return f"{event[0].upper() + event[1:]} {verb} at {time} {self.time_phrase('past' if verb.endswith('ed') else 'future')}."
        h2 = hour % 12 + 1
        return f"The {self.pick(('train', 'bus', 'ferry', 'flight'))} to {self.pick(V.CITIES)} leaves at {time} and arrives at {h2}:{int(self.rng.integers(0, 60)):02d}."

    def _count(self):
        n = int(self.rng.choice([self.rng.integers(2, 100), self.rng.integers(100, 1000),
                                 self.rng.integers(1000, 90000)]))
        number = f"{n:,}" if n >= 1000 and self.chance(0.7) else str(n)
        kind = self._kind(("person", "animal", "object"))
        noun = pluralize(self.pick(_KINDS[kind][0]))
        r = self.rng.random()
        if r < 0.4:
            org = self.pick(V.ORGANIZATIONS)
            return f"The {org} {self.pick(('bought', 'counted', 'needed', 'ordered', 'lost'))} {number} {noun} {self.time_phrase()}."
        if r < 0.7:
            event, _ = self.noun_phrase("event", plural=False, adjective=0.2)
            return f"About {number} people {self.pick(('attended', 'watched', 'missed', 'enjoyed'))} {event} {self.place_phrase()}."
        return f"{self.subject()[0]} counted {number} {noun} {self.place_phrase()}."

    def _percent(self):
        pct = f"{int(self.rng.integers(1, 100))}" + (f".{int(self.rng.integers(1, 10))}" if self.chance(0.25) else "")
        what = self.pick(("Prices", "Sales", "Profits", "Rents", "Wages", "Costs", "Ticket sales", "Visitor numbers"))
        verb = self.pick(("rose", "fell", "grew", "dropped", "increased"))
        return f"{what} {verb} by {pct}% {self.pick(('last year', 'this month', 'in ' + str(int(self.rng.integers(1990, 2031))), 'since the spring'))}, according to {self.noun_phrase(self._kind(('idea',)), plural=False, adjective=0.5)[0]}."

    def _ordinal(self):
        n = int(self.rng.integers(1, 60))
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        r = self.rng.random()
        if r < 0.4:
            return f"{self.person_name()} finished {n}{suffix} out of {int(self.rng.integers(n + 1, 400))} runners in the {self.pick(('race', 'marathon', 'competition', 'tournament'))}."
        if r < 0.7:
            return f"The {self.pick(('office', 'apartment', 'studio', 'classroom', 'restaurant'))} is on the {n % 40 + 1}{'th' if 10 <= (n % 40 + 1) % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get((n % 40 + 1) % 10, 'th')} floor of the {self.pick(('tower', 'building', 'hotel', 'hospital'))}."
        return f"This was the {n}{suffix} {self.pick(('time', 'year', 'day', 'week'))} that {self.clause('past', extras=False)}."

    def _year(self):
        year = int(self.rng.integers(1500, 2031))
        r = self.rng.random()
        if r < 0.5:
            place, _ = self.noun_phrase("place", plural=False, adjective=0.3)
            return f"{place[0].upper() + place[1:]} was built in {year} by {self.noun_phrase('person', plural=True, adjective=0.3)[0]}."
        return f"In {year}, {self.clause('past')}."

    def _address(self):
        number = int(self.rng.integers(1, 400))
        street = self.pick(V.STREETS)
        kind = self.pick(("St.", "Ave.", "Road", "Lane"))
        return f"{self.person_name()} {conjugate('live', self.pick(('present', 'past')), False)} at {number} {street} {kind} with {self.noun_phrase('animal', adjective=0.4)[0]}."

    # ---- public
    def sentence(self) -> str:
        """One sentence, capitalised, ending in . ? or quotes, that normalises to non-empty text."""
        while True:
            template = self._templates[int(self.rng.choice(len(self._templates), p=self._weights))][0]
            s = " ".join(template().split())
            s = s[0].upper() + s[1:]
            last = s.rstrip(".?!\"'").split()[-1].lower().strip(",")
            if last not in _ABBREV_WORDS and textlib.normalize(s):
                return s


def generate_sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct sentences (distinct after :func:`voxjax.text.normalize`), seeded."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    gen = SentenceGenerator(seed)
    seen, out = set(), []
    while len(out) < count:
        s = gen.sentence()
        key = textlib.normalize(s)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def sentence_stats(sentences) -> dict:
    """Summary numbers: count, mean/min/max words, share with digits, dates, money, questions."""
    sentences = list(sentences)
    counts = np.array([len(s.split()) for s in sentences], float)
    share = lambda pred: float(np.mean([pred(s) for s in sentences])) if sentences else 0.0
    return {
        "count": len(sentences),
        "mean_words": float(counts.mean()) if sentences else 0.0,
        "min_words": int(counts.min()) if sentences else 0,
        "max_words": int(counts.max()) if sentences else 0,
        "with_digits": share(lambda s: any(c.isdigit() for c in s)),
        "with_dates": share(lambda s: bool(textlib._DATE.search(s))),
        "with_money": share(lambda s: "$" in s),
        "with_time": share(lambda s: bool(textlib._TIME.search(s))),
        "questions": share(lambda s: s.endswith("?")),
        "vocabulary": len({w.strip('.,?!"').lower() for s in sentences for w in s.split()}),
    }
