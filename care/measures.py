"""Questionnaires as data, and how they are scored: pure functions, no database.

PHQ-9 (depression) and GAD-7 (anxiety) are free to use (Pfizer; developed by Drs. Spitzer,
Williams, Kroenke and colleagues), with their standard wording, answers, totals and severity
bands, in English and in their published Spanish (USA) versions. They are loaded into the
``Measure`` and ``MeasureItem`` tables by a migration from the definitions below; a clinic can
add another measure as rows, without code.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

FREQUENCY_OPTIONS = [
    {"value": 0, "label": "Not at all", "label_es": "Ningún día"},
    {"value": 1, "label": "Several days", "label_es": "Varios días"},
    {"value": 2, "label": "More than half the days", "label_es": "Más de la mitad de los días"},
    {"value": 3, "label": "Nearly every day", "label_es": "Casi todos los días"},
]

PHQ9 = {
    "code": "PHQ-9",
    "version": 1,
    "title": "Patient Health Questionnaire (PHQ-9)",
    "title_es": "Cuestionario sobre la salud del paciente (PHQ-9)",
    "instructions": "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    "instructions_es": (
        "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los siguientes problemas?"
    ),
    "options": FREQUENCY_OPTIONS,
    "bands": [
        {"min": 0, "max": 4, "label": "Minimal", "label_es": "Mínima"},
        {"min": 5, "max": 9, "label": "Mild", "label_es": "Leve"},
        {"min": 10, "max": 14, "label": "Moderate", "label_es": "Moderada"},
        {"min": 15, "max": 19, "label": "Moderately severe", "label_es": "Moderadamente grave"},
        {"min": 20, "max": 27, "label": "Severe", "label_es": "Grave"},
    ],
    # Thoughts of being better off dead or of self-harm: any answer above "Not at all" makes
    # sure a person looks, at once.
    "safety_item": 9,
    # A drop of 6 points or more is reliable improvement on PHQ-9 (the reliable change index
    # used by England's NHS Talking Therapies, after Jacobson & Truax 1991).
    "reliable_change": 6,
    # The form's closing question: how much the problems get in the way. Not scored; asked
    # of everyone, answered if they wish (the paper form says "if you checked off any").
    "follow_up": {
        "text": (
            "If you checked off any problems, how difficult have these problems made it for you to do your "
            "work, take care of things at home, or get along with other people?"
        ),
        "text_es": (
            "Si marcó cualquiera de los problemas, ¿qué tanta dificultad le han dado estos problemas para "
            "hacer su trabajo, encargarse de las tareas del hogar, o llevarse bien con otras personas?"
        ),
        "options": [
            {"value": 0, "label": "Not difficult at all", "label_es": "No ha sido difícil"},
            {"value": 1, "label": "Somewhat difficult", "label_es": "Un poco difícil"},
            {"value": 2, "label": "Very difficult", "label_es": "Muy difícil"},
            {"value": 3, "label": "Extremely difficult", "label_es": "Extremadamente difícil"},
        ],
    },
    "items": [
        ("Little interest or pleasure in doing things", "Poco interés o placer en hacer cosas"),
        ("Feeling down, depressed, or hopeless", "Se ha sentido decaído(a), deprimido(a) o sin esperanzas"),
        (
            "Trouble falling or staying asleep, or sleeping too much",
            "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado",
        ),
        ("Feeling tired or having little energy", "Se ha sentido cansado(a) o con poca energía"),
        ("Poor appetite or overeating", "Sin apetito o ha comido en exceso"),
        (
            "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
            "Se ha sentido mal con usted mismo(a) – o que es un fracaso o que ha quedado mal con usted "
            "mismo(a) o con su familia",
        ),
        (
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el periódico o "
            "ver la televisión",
        ),
        (
            "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
            "fidgety or restless that you have been moving around a lot more than usual",
            "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo contrario – "
            "muy inquieto(a) o agitado(a) que ha estado moviéndose mucho más de lo normal",
        ),
        (
            "Thoughts that you would be better off dead or of hurting yourself in some way",
            "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera",
        ),
    ],
}

GAD7 = {
    "code": "GAD-7",
    "version": 1,
    "title": "Generalized Anxiety Disorder scale (GAD-7)",
    "title_es": "Escala del trastorno de ansiedad generalizada (GAD-7)",
    "instructions": "Over the last 2 weeks, how often have you been bothered by the following problems?",
    "instructions_es": (
        "Durante las últimas 2 semanas, ¿con qué frecuencia ha sentido molestia por los siguientes problemas?"
    ),
    "options": FREQUENCY_OPTIONS,
    "bands": [
        {"min": 0, "max": 4, "label": "Minimal", "label_es": "Mínima"},
        {"min": 5, "max": 9, "label": "Mild", "label_es": "Leve"},
        {"min": 10, "max": 14, "label": "Moderate", "label_es": "Moderada"},
        {"min": 15, "max": 21, "label": "Severe", "label_es": "Grave"},
    ],
    "safety_item": None,
    # 4 points or more on GAD-7 (the same source).
    "reliable_change": 4,
    "items": [
        (
            "Feeling nervous, anxious, or on edge",
            "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta",
        ),
        (
            "Not being able to stop or control worrying",
            "No ha sido capaz de parar o controlar su preocupación",
        ),
        ("Worrying too much about different things", "Se ha preocupado demasiado por motivos diferentes"),
        ("Trouble relaxing", "Ha tenido dificultad para relajarse"),
        (
            "Being so restless that it is hard to sit still",
            "Se ha sentido tan inquieto(a) que no ha podido quedarse quieto(a)",
        ),
        ("Becoming easily annoyed or irritable", "Se ha molestado o irritado fácilmente"),
        (
            "Feeling afraid, as if something awful might happen",
            "Ha tenido miedo de que algo terrible fuera a pasar",
        ),
    ],
}

MEASURES = (PHQ9, GAD7)


def measures_install(measure_model, item_model, *, using: str = "default") -> int:
    """Store the standard measures that are missing (by code and version); return how many.

    Called by the migration that made the tables and after every ``migrate`` (and every test
    flush), so the questionnaires exist wherever the schema does. An existing version is never
    rewritten: answers point at it.
    """
    added = 0
    # The migration that made the tables runs this before the follow-up question existed.
    fields = {f.name for f in measure_model._meta.get_fields()}
    follow_ups = "follow_up" in fields
    thresholds = "reliable_change" in fields  # added after the tables were made
    for position, spec in enumerate(MEASURES):
        measure, created = measure_model.objects.using(using).get_or_create(
            code=spec["code"],
            version=spec["version"],
            defaults={
                "title": spec["title"],
                "title_es": spec["title_es"],
                "instructions": spec["instructions"],
                "instructions_es": spec["instructions_es"],
                "options": spec["options"],
                "bands": spec["bands"],
                "safety_item": spec["safety_item"],
                "position": position,
                **({"follow_up": spec.get("follow_up", {})} if follow_ups else {}),
                **({"reliable_change": spec["reliable_change"]} if thresholds else {}),
            },
        )

        if follow_ups and not created and spec.get("follow_up") and not measure.follow_up:
            # The unscored closing question changes no score: an existing version gains it.
            measure.follow_up = spec["follow_up"]
            measure.save(update_fields=["follow_up"])
        if created:
            added += 1
            item_model.objects.using(using).bulk_create(
                [
                    item_model(measure=measure, number=n, text=en, text_es=es)
                    for n, (en, es) in enumerate(spec["items"], start=1)
                ]
            )
    return added


def safety_answer(*, options: list[dict], safety_item: int | None, answers: dict[int, int]) -> int | None:
    """The safety rule, written once: the answer to the measure's safety question when it is
    above the first option (a person must look at once), else ``None``. An answer that is not
    one of the options is no answer."""
    if safety_item is None:
        return None
    values = [option["value"] for option in options]
    value = answers.get(safety_item)
    return value if value in values and value > min(values) else None


@dataclass(frozen=True)
class Score:
    total: int
    band: int  # index into the measure's bands
    safety: bool  # the safety item was answered above the first option


class InvalidAnswers(ValueError):
    """Answers that do not fit the measure: a missing item ("incomplete"), an unknown value
    ("invalid")."""

    def __init__(self, message, code: str = "incomplete") -> None:
        super().__init__(message)
        self.code = code


def score(
    *, items: int, options: list[dict], bands: list[dict], safety_item: int | None, answers: dict[int, int]
) -> Score:
    """Total ``answers`` (item number → option value) and place the total in its band.

    Every item 1..``items`` must be answered with one of ``options``' values.
    """
    values = {option["value"] for option in options}
    if sorted(answers) != list(range(1, items + 1)):
        raise InvalidAnswers(_("every question needs an answer"))
    if any(value not in values for value in answers.values()):
        raise InvalidAnswers(_("an answer is not one of the options"), code="invalid")
    total = sum(answers.values())
    band = next((i for i, b in enumerate(bands) if b["min"] <= total <= b["max"]), None)
    if band is None:
        raise InvalidAnswers(_("the total is outside every band"), code="invalid")
    return Score(
        total, band, safety_answer(options=options, safety_item=safety_item, answers=answers) is not None
    )


def change_category(*, baseline: int, end: int, reliable_change: int) -> str:
    """How a member's score moved from baseline to end: "improved" (down by at least the
    measure's reliable change), "worse" (up by at least that much) or "unchanged"."""
    if baseline - end >= reliable_change:
        return "improved"
    if end - baseline >= reliable_change:
        return "worse"
    return "unchanged"


def responded(*, baseline: int, end: int) -> bool:
    """A response: the score at least halved from a baseline above zero."""
    return baseline > 0 and end <= baseline / 2
