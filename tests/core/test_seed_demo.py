from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from accounts.choices import Role
from accounts.models import Company, Location, Membership, User
from core.management.commands import seed_demo
from core.management.commands.seed_demo import DEMO_PASSWORD


@pytest.mark.django_db
def test_it_creates_the_demo_company_once(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    output = capsys.readouterr().out
    assert Company.objects.count() == 1
    assert Location.objects.count() == 2
    assert Membership.objects.count() == len(Role)
    administrator = User.objects.get(email="administrator@demo.ariesone.test")
    assert administrator.check_password(DEMO_PASSWORD)
    assert administrator.is_staff
    assert not administrator.is_superuser
    assert DEMO_PASSWORD in output
    assert output.strip().splitlines()[-1].startswith("Demo data ready for Aries Demo")


@pytest.mark.django_db
def test_it_refuses_to_publish_demo_passwords_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Refusing to create demo users"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_the_demo_company_comes_from_accounts_demo_plug_in(settings, monkeypatch):
    """core's command names no domain app: the first plug-in (accounts' demo.py) makes
    the company. When it does not, the command says so and writes nothing."""
    settings.DEBUG = True
    real = seed_demo._app_modules
    silent = SimpleNamespace(__name__="accounts.demo", seed=lambda context: None)

    def modules(name):
        for module in real(name):
            yield silent if module.__name__ == "accounts.demo" else module

    monkeypatch.setattr(seed_demo, "_app_modules", modules)
    with pytest.raises(CommandError, match="No installed app seeded the demo company"):
        call_command("seed_demo")
    assert not Company.objects.exists()
