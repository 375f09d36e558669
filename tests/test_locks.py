"""Row locks as a checked rule: taken only through the lock helpers, ``FOR NO KEY UPDATE OF``
their own rows, in one order; and a clinician and a member acting on one seat at once on
PostgreSQL, with real threads, never deadlock."""

import ast
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.utils import OperationalError

from attendance.models import AttendanceFlag
from attendance.services import attendance as attendance_services
from attendance.services.attendance import attendance_flag_review
from enrollment.errors import InvalidTransition
from enrollment.models import Reservation
from enrollment.services.reservations import reservation_cancel, reservation_confirm, reservation_hold
from grouport.locks import LOCK_ORDER, LockOrderViolation, lock_order_check
from grouport.models import User
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member
from tests.project import PACKAGES as APPS
from tests.project import ROOT

HELPERS = {"lock_row", "lock_rows", "lock_all", "lock_order_check"}


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), filename=str(path))


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            yield name, node


@pytest.mark.sqlite
def test_rows_are_locked_only_through_the_lock_helpers_for_no_key_update_of_their_own_rows():
    offences = []
    for path, tree in _sources():
        where = path.relative_to(ROOT)
        for name, node in _calls(tree):
            if name == "select_for_update":
                keywords = {k.arg: k.value for k in node.keywords}
                if str(where) != "grouport/locks.py":
                    offences.append(f"{where}:{node.lineno} select_for_update outside grouport/locks.py")
                elif not (
                    isinstance(keywords.get("no_key"), ast.Constant)
                    and keywords["no_key"].value is True
                    and "of" in keywords
                ):
                    offences.append(f"{where}:{node.lineno} select_for_update without no_key=True and of=")
            elif name in HELPERS and path.name != "lock_objects.py" and str(where) != "grouport/locks.py":
                offences.append(f"{where}:{node.lineno} {name}() outside an app's lock_objects.py")
    assert offences == []


@pytest.mark.sqlite
def test_every_lock_helper_is_named_for_what_it_locks_and_names_a_kind_in_the_order():
    found = []
    for path, tree in _sources():
        if path.name != "lock_objects.py":
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                assert node.name.startswith("lock_"), f"{path}: {node.name}"
                found.append(node.name)
        for name, node in _calls(tree):
            if name in HELPERS:
                kinds = [k.value.value for k in node.keywords if k.arg == "kind"]
                kinds += [
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                assert kinds and set(kinds) <= set(LOCK_ORDER), f"{path}:{node.lineno} {kinds}"
    assert {"lock_member", "lock_group", "lock_reservation", "lock_payment", "lock_refund"} <= set(found)


@pytest.mark.sqlite
@pytest.mark.django_db
def test_a_lock_out_of_order_is_refused_and_one_taken_again_is_not():
    with transaction.atomic():
        lock_order_check("group", 1)
        lock_order_check("payment", 7)
        lock_order_check("group", 1)  # held already: waits for nothing
        with pytest.raises(LockOrderViolation, match="a group lock after a payment lock"):
            lock_order_check("group", 2)
    with transaction.atomic():  # a new transaction starts afresh
        lock_order_check("group", 5)
        with pytest.raises(LockOrderViolation, match="ascending id"):
            lock_order_check("group", 3)


# --- A therapist ending a seat under the attendance rule while its member cancels it


def _seat_at_the_limit():
    group = GroupFactory(therapist=licensed_therapist("NY"), missed_in_a_row_limit=4)
    person = member()
    reservation = reservation_confirm(
        reservation=reservation_hold(member=person, group=group, attestations=ALL_TRUE), actor=person
    )
    flag = AttendanceFlag.objects.create(
        reservation=reservation, session=group.sessions.order_by("number")[3], misses=4, limit=4
    )
    therapist = User.objects.get(pk=group.therapist.user_id)
    return reservation, flag, therapist


def _at_once(first, second, *, first_holds_lock: threading.Event) -> dict:
    """Run ``first``; once it holds its first lock, run ``second``; collect what each did."""
    outcomes: dict = {}

    def run(name, call, wait_for=None):
        try:
            if wait_for is not None:
                assert wait_for.wait(10)
            call()
            outcomes[name] = "done"
        except InvalidTransition:
            outcomes[name] = "refused: already ended"
        except OperationalError as exc:
            outcomes[name] = "deadlock" if "deadlock" in str(exc) else f"error: {exc}"
        except Exception as exc:
            outcomes[name] = f"error: {exc!r}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("clinician", first)),
        threading.Thread(target=run, args=("member", second, first_holds_lock)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def _pause_after_first(monkeypatch, module, name: str) -> threading.Event:
    """Make ``module.name`` (a lock helper) signal and wait a moment after it locks."""
    held = threading.Event()
    original = getattr(module, name)

    def locked_then_paused(*args, **kwargs):
        row = original(*args, **kwargs)
        if not held.is_set():
            held.set()
            time.sleep(0.4)  # the other side reaches its locks meanwhile
        return row

    monkeypatch.setattr(module, name, locked_then_paused)
    return held


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_clinician_ending_a_seat_while_its_member_cancels_it_never_deadlocks(monkeypatch):
    reservation, flag, therapist = _seat_at_the_limit()
    held = _pause_after_first(monkeypatch, attendance_services, "lock_reservation")
    outcomes = _at_once(
        lambda: attendance_flag_review(flag=flag, actor=therapist, note="Talked with them.", end_seat=True),
        lambda: reservation_cancel(
            reservation=Reservation.objects.get(pk=reservation.pk), actor=reservation.member
        ),
        first_holds_lock=held,
    )
    assert outcomes == {"clinician": "done", "member": "refused: already ended"}, outcomes
    reservation.refresh_from_db()
    assert reservation.status == "cancelled" and reservation.end_reason == "attendance_rule"
    assert AttendanceFlag.objects.get(pk=flag.pk).status == AttendanceFlag.Status.SEAT_ENDED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_control_the_old_order_deadlocks(monkeypatch):
    """Shows the test above can fail: the review as it was (the flag, and through its join the
    seat, locked before the group) against the same cancel dies with "deadlock detected"."""
    reservation, flag, therapist = _seat_at_the_limit()
    held = threading.Event()

    def old_review():
        with transaction.atomic():
            locked = AttendanceFlag.objects.select_for_update().select_related("reservation").get(pk=flag.pk)
            held.set()
            time.sleep(0.4)
            reservation_cancel(reservation=locked.reservation, actor=therapist, refund="policy")

    monkeypatch.setattr("django.conf.settings.LOCK_ORDER_STRICT", False)  # the old code is out of order
    outcomes = _at_once(
        old_review,
        lambda: reservation_cancel(
            reservation=Reservation.objects.get(pk=reservation.pk), actor=reservation.member
        ),
        first_holds_lock=held,
    )
    assert "deadlock" in outcomes.values(), outcomes
