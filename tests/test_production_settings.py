"""What production refuses: a mistyped DJANGO_ENV, weak settings (a simple key, a
top-level-domain host, no real care team address), and the demo data.

production_problems() and is_production() are called directly here; test_deployment.py loads
the production settings in a fresh process and checks the same refusals end to end.
"""

import pytest
from django.core.management import CommandError, call_command

from config.settings.safety import is_production, production_problems
from grouport.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.mark.parametrize("name", ["production", "Production", "PROD", " prod "])
def test_every_spelling_of_production_is_production(name):
    assert is_production(name) is True


@pytest.mark.parametrize("name", ["staging", "prdouction", "live"])
def test_an_unknown_environment_name_is_refused_not_run_as_development(name):
    with pytest.raises(ValueError, match="DJANGO_ENV"):
        is_production(name)


def _problems(**changes) -> list[str]:
    good = {
        "debug": False,
        "secret_key": "k3Y-" + "".join(chr(65 + (n * 7) % 58) for n in range(60)),
        "allowed_hosts": ["groups.example.org"],
        "site_url": "https://groups.example.org",
        "database_engine": "django.db.backends.postgresql",
        "email_backend": "django.core.mail.backends.smtp.EmailBackend",
        "stripe_secret_key": "sk_live_x",
        "stripe_webhook_secret": "whsec_x",
        "redis_url": "redis://redis:6379/0",
        "care_team_email": "care@example.org",
        "twilio": ("AC_example", "token", "+12125550100"),
        "clinic": ("Example Clinic, PLLC", "1 Main St|New York, NY 10001", "12-3456789"),
        "video": ("jitsi", "meet.example.org", "grouport", "a-jitsi-app-secret-of-32-characters-or-more"),
        "build_only": False,
        "collecting_static": False,
    }
    return production_problems(**{**good, **changes})


def test_good_production_settings_have_no_problems():
    assert _problems() == []


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"secret_key": "abcde" * 12}, "too short or too simple"),
        ({"allowed_hosts": [".com"]}, "top-level domain"),
        ({"allowed_hosts": ["groups.example.org", ".org"]}, "top-level domain"),
        ({"care_team_email": ""}, "CARE_TEAM_EMAIL is not a real address"),
        ({"care_team_email": "care-team@grouport.local"}, "CARE_TEAM_EMAIL is not a real address"),
        ({"twilio": ("AC_example", "", "+12125550100")}, "a safety alert could not text or call"),
        ({"video": ("static", "", "", "")}, "VIDEO_PROVIDER is static"),
        ({"clinic": ("Example Clinic", "", "12-3456789")}, "CLINIC_ADDRESS and CLINIC_TAX_ID are not"),
        ({"video": ("local", "", "", "")}, "VIDEO_PROVIDER is local"),
        ({"video": ("jitsi", "meet.example.org", "grouport", "")}, "a secret or key are not all set"),
        ({"video": ("jitsi", "meet.example.org", "grouport", "short")}, "shorter than 32 characters"),
    ],
    ids=[
        "five-letter key",
        "a tld",
        "a tld among good hosts",
        "no care team",
        "the development care team",
        "no text provider",
        "the static video link",
        "no clinic address for receipts",
        "make run's stand-in room",
        "jitsi without its secret",
        "a short jitsi secret",
    ],
)
def test_weak_production_settings_are_refused(changes, words):
    assert any(words in problem for problem in _problems(**changes))


def test_a_subdomain_wildcard_of_our_own_domain_is_allowed():
    assert _problems(allowed_hosts=[".example.org"]) == []


def test_the_demo_data_never_loads_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")
    assert not User.objects.filter(email="staff@grouport.test").exists()
