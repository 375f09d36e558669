"""The first consent to telehealth group treatment, shipped with the code in English and
Spanish. Later versions are published by staff in the admin (a new version each time, never
an edit); every signature keeps the version its member signed."""

# ruff: noqa: E501  (paragraphs, one per line)

FIRST_VERSION = 1

BODY = """This is your consent to take part in group therapy by telehealth: live video sessions with a licensed therapist and other members. Please read it before you sign.

What telehealth is, and is not. Each session is a live video meeting led by your therapist. It is real treatment, with the same care and the same professional rules as meeting in person. It is not a crisis service, and your therapist cannot answer messages between sessions. Video can fail; if a session drops, rejoin with your link, and if it cannot go on, we will tell you what happens next.

Privacy, and its limits in a group. Your therapist and our clinic keep your information confidential, as the law requires. In a group, other members hear what you share: they agree to keep it in the group, but we cannot promise what another person does. Join from a private place where nobody else can see or hear the session, and use headphones if you can.

No recording. Nobody may record, photograph or screenshot a session: not members, not the therapist. We do not record sessions.

In an emergency. At every check-in you tell us where you are for that session. If your therapist believes you are in immediate danger during a session, they may call emergency services to that place, and may contact your emergency contact. Between sessions, if you are in crisis, call or text 988 (in Spanish: call 988 and press 2), or call 911.

Where you are. Your therapist may treat you only while you are in a state where they hold a license. You confirm where you are at every session.

How to reach us. Write to us through the Contact page, linked at the foot of every page. You may stop taking part at any time, and you may ask for a copy of this consent and of what we keep about you.

By typing your full name you sign this consent, the same as a signature on paper."""

BODY_ES = """Este es su consentimiento para participar en terapia de grupo por telesalud: sesiones de video en vivo con un terapeuta con licencia y otros miembros. Léalo antes de firmarlo.

Qué es la telesalud y qué no es. Cada sesión es una reunión de video en vivo dirigida por su terapeuta. Es un tratamiento real, con el mismo cuidado y las mismas normas profesionales que en persona. No es un servicio de crisis, y su terapeuta no puede responder mensajes entre sesiones. El video puede fallar; si una sesión se corta, vuelva a entrar con su enlace, y si no puede continuar, le diremos qué sigue.

La privacidad y sus límites en un grupo. Su terapeuta y nuestra clínica mantienen su información confidencial, como exige la ley. En un grupo, los demás miembros escuchan lo que usted comparte: se comprometen a que quede en el grupo, pero no podemos garantizar lo que haga otra persona. Conéctese desde un lugar privado donde nadie más pueda ver ni oír la sesión, y use audífonos si puede.

Sin grabaciones. Nadie puede grabar, fotografiar ni hacer capturas de pantalla de una sesión: ni los miembros ni el terapeuta. Nosotros no grabamos las sesiones.

En una emergencia. En cada registro de llegada usted nos dice dónde está durante esa sesión. Si su terapeuta cree que usted está en peligro inmediato durante una sesión, puede llamar a los servicios de emergencia a ese lugar y comunicarse con su contacto de emergencia. Entre sesiones, si está en crisis, llame o envíe un mensaje de texto al 988 (en español: llame al 988 y marque 2), o llame al 911.

Dónde está usted. Su terapeuta solo puede atenderle mientras usted esté en un estado donde tenga licencia. Usted confirma dónde está en cada sesión.

Cómo comunicarse con nosotros. Escríbanos desde la página de Contacto, enlazada al pie de cada página. Puede dejar de participar en cualquier momento, y puede pedir una copia de este consentimiento y de lo que guardamos sobre usted.

Al escribir su nombre completo, usted firma este consentimiento, igual que una firma en papel."""
