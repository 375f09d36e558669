"""The screening questions a clinic starts with; it edits, retires and adds its own in the
admin. Installed after migrate (and after a test database is emptied) when there are none."""

QUESTIONS = [
    (
        10,
        "Are you seeing an individual therapist or psychiatrist now?",
        "¿Está viendo ahora a un terapeuta o psiquiatra individual?",
        "yes_no",
        "",
        "",
        "no",
    ),
    (
        20,
        "In the last six months, have you stayed in a hospital for your mental health?",
        "En los últimos seis meses, ¿ha estado hospitalizado/a por su salud mental?",
        "yes_no",
        "",
        "",
        "yes",
    ),
    (
        30,
        "How are you feeling about starting a group?",
        "¿Cómo se siente al empezar un grupo?",
        "choice",
        "Ready\nA little unsure\nI'm not sure a group is right for me now",
        "Con ganas\nUn poco inseguro/a\nNo estoy seguro/a de que un grupo sea para mí ahora",
        "I'm not sure a group is right for me now",
    ),
    (
        40,
        "Is there anything you would like your therapist to know before you join? (optional)",
        "¿Hay algo que quiera que su terapeuta sepa antes de unirse? (opcional)",
        "text",
        "",
        "",
        "",
    ),
]


def questions_install(question_model, *, using: str = "default") -> None:
    """Install the starting questions when the clinic has none at all."""
    if question_model.objects.using(using).exists():
        return
    for position, text, text_es, kind, choices, choices_es, flags_on in QUESTIONS:
        question_model.objects.using(using).create(
            position=position,
            text=text,
            text_es=text_es,
            kind=kind,
            choices=choices,
            choices_es=choices_es,
            flags_on=flags_on,
        )
