"""PHQ-9 and GAD-7 version 1 as enrollment's migrations 0008 and 0011 installed them: a frozen
copy, so those migrations never import the running code (``care/measures.py`` moved apps and
goes on changing). Not a migration: the loader skips modules whose name starts with ``_``.
"""

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
    An existing version is never rewritten, except that it gains the follow-up question."""
    added = 0
    # The migration that made the tables runs this before the follow-up question existed.
    follow_ups = any(f.name == "follow_up" for f in measure_model._meta.get_fields())
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


