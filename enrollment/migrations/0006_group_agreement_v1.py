"""The first group agreement, in English and Spanish."""

from django.db import migrations

BODY = """Welcome. These are the few things that keep a group safe and useful for everyone in it.

Come to every session you can. Join on time, from a quiet, private place, with your camera on if you can. If you can't make it, tell us before the session starts ("I can't make it this week" in My groups): that counts as notice.

Missing sessions in a row without notice makes it hard for you and for the group. Following the usual rule of DBT skills groups, missing four sessions in a row without notice ends your place for this cycle. Your therapist will reach out before that happens, and a person, never the computer, makes that decision.

What members share in the group stays in the group. Do not record, screenshot or repeat what others say, and do not share who is in the group. Your therapist keeps your information confidential, as the law requires.

Therapy groups: during every session you must be in a state where your therapist is licensed. If you move or travel, tell us first.

Be kind. Disagreeing is fine; harassment, threats and hate speech are not, and can end your place.

This group is not a crisis service. Your therapist cannot answer messages between sessions. If you are in crisis, call or text 988 (in Spanish: call 988 and press 2, or text AYUDA to 988), or call 911 in an emergency. If your therapist believes you are in immediate danger during a session, they may contact emergency services for you."""

BODY_ES = """Le damos la bienvenida. Estas son las pocas cosas que hacen que un grupo sea seguro y útil para todos sus miembros.

Venga a todas las sesiones que pueda. Conéctese a tiempo, desde un lugar tranquilo y privado, con la cámara encendida si puede. Si no puede asistir, avísenos antes de que empiece la sesión («Esta semana no puedo ir» en Mis grupos): eso cuenta como aviso.

Faltar a varias sesiones seguidas sin avisar es difícil para usted y para el grupo. Según la regla habitual de los grupos de habilidades DBT, faltar a cuatro sesiones seguidas sin avisar pone fin a su lugar en este ciclo. Su terapeuta se comunicará con usted antes de que eso ocurra, y esa decisión la toma siempre una persona, nunca la computadora.

Lo que los miembros comparten en el grupo se queda en el grupo. No grabe, no haga capturas de pantalla ni repita lo que dicen los demás, y no comparta quién está en el grupo. Su terapeuta mantiene su información confidencial, como exige la ley.

Grupos de terapia: durante cada sesión usted debe estar en un estado donde su terapeuta tenga licencia. Si se muda o viaja, avísenos antes.

Sea amable. Estar en desacuerdo está bien; el acoso, las amenazas y los discursos de odio no, y pueden poner fin a su lugar.

Este grupo no es un servicio de crisis. Su terapeuta no puede responder mensajes entre sesiones. Si está en crisis, llame o envíe un mensaje de texto al 988 (en español: llame al 988 y marque 2, o envíe AYUDA al 988), o llame al 911 en una emergencia. Si su terapeuta cree que usted está en peligro inmediato durante una sesión, puede llamar a los servicios de emergencia por usted."""


def publish(apps, schema_editor):
    GroupAgreement = apps.get_model("enrollment", "GroupAgreement")
    GroupAgreement.objects.get_or_create(version=1, defaults={"body": BODY, "body_es": BODY_ES})


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0005_group_agreement")]

    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
