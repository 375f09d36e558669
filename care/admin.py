"""Care in the admin: safety alerts, for the group's therapist and staff (every look is
audited; a clinician closes one by writing what was done), and the questionnaires as data,
for staff."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from care.models import Measure, MeasureItem, MeasureResponse, OnCallClinician, OnCallShift, SafetyAlert
from care.services import safety_alert_review
from grouport.admin_scoping import AuditedViewsAdmin, OperationsOnlyAdmin, ReviewWithNoteAdmin
from grouport.models import User
from grouport.states import TIME_ZONE_CHOICES
from groups.admin_scoping import TherapistScopedAdmin
from intake.phones import phone_display, phone_e164
from intake.selectors import member_intake
from texting.models import StoppedNumber
from texting.services import receives_texts, textable


@admin.register(SafetyAlert)
class SafetyAlertAdmin(ReviewWithNoteAdmin, AuditedViewsAdmin, TherapistScopedAdmin):
    """An answer that needs a person to look at once: open it, reach out, write what was done.
    A therapist sees their own groups' alerts; staff see all. Every look is audited."""

    therapist_path = "reservation__group__therapist"
    operations_only_filters = ("reservation__group__therapist",)
    list_display = ("id", "member", "group", "status", "raised")
    list_filter = ("status",)
    list_select_related = ("reservation__group", "reservation__member")
    readonly_fields = (
        "member",
        "contact",
        "language",
        "group",
        "roster_link",
        "answers",
        "status",
        "raised",
        "paging",
        "reviewer",
        "reviewed",
    )
    fields = (*readonly_fields, "review_note")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Member")
    def member(self, obj: SafetyAlert) -> str:
        return obj.reservation.member.get_full_name() or f"Member #{obj.reservation.member_id}"

    @admin.display(description="Contact")
    def contact(self, obj: SafetyAlert) -> str:
        """Email, phone and emergency contact, each a tap to call; whether they get texts."""
        member = obj.reservation.member
        intake = member_intake(member)
        parts = [format_html('<a href="mailto:{}">{}</a>', member.email, member.email)]
        if intake and intake.phone:
            parts.append(format_html('<a href="tel:{}">{}</a>', intake.phone, phone_display(intake.phone)))
        if intake and intake.emergency_phone:
            parts.append(
                format_html(
                    'emergency contact {} ({}): <a href="tel:{}">{}</a>',
                    intake.emergency_name,
                    intake.emergency_relationship or "no relationship given",
                    intake.emergency_phone,
                    phone_display(intake.emergency_phone),
                )
            )
        parts.append(
            format_html("{}", "gets our texts" if receives_texts(member) else "does not get our texts")
        )
        return format_html_join(" · ", "{}", ((part,) for part in parts))

    @admin.display(description="On call")
    def paging(self, obj: SafetyAlert) -> str:
        """Who was paged at each step and whether someone took it (the pager's page)."""
        steps = obj.steps.count()
        taken = "not taken yet"
        if obj.acknowledged_by:
            who = obj.acknowledged_by.get_full_name() or obj.acknowledged_by.email
            taken = f"taken by {who} at {date_format(timezone.localtime(obj.acknowledged_at), 'g:i A T')}"
        return format_html(
            '{} step(s) paged, {}. <a href="{}">The on-call page, with every page sent</a>',
            steps,
            taken,
            f"/care/alerts/{obj.pk}/",
        )

    @admin.display(description="Group")
    def group(self, obj: SafetyAlert) -> str:
        return obj.reservation.group.title

    @admin.display(description="Answers")
    def answers(self, obj: SafetyAlert) -> str:
        response = obj.response
        if response is None:
            # The questionnaire closed, or was not finished: only the safety answer is known.
            lines = ["The other answers could not be kept (closed meanwhile, or not finished)."]
            for code, given in obj.safety_answers.items():
                measure = Measure.objects.filter(code=code).order_by("-version").first()
                if measure is None:
                    continue
                items = {i.number: i.text for i in measure.items.all()}
                labels = {o["value"]: o["label"] for o in measure.options}
                lines += [
                    f"{code} {n}. {items.get(int(n), '')}: {labels.get(v, v)}" for n, v in given.items()
                ]
            return format_html_join("", "<div>{}</div>", ((line,) for line in lines))
        items = {i.number: i.text for i in response.measure.items.all()}
        labels = {o["value"]: o["label"] for o in response.measure.options}
        lines = [f"{response.measure.code} total {response.total} ({response.band_label})"]
        lines += [f"{n}. {items.get(int(n), '')}: {labels.get(v, v)}" for n, v in response.answers.items()]
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    @admin.display(description="Raised")
    def raised(self, obj: SafetyAlert) -> str:
        # In the reader's zone, named (StaffTimeZoneMiddleware): on call at night, "when" is theirs.
        return date_format(timezone.localtime(obj.created_at), "M j, Y, g:i A T")

    @admin.display(description="Reviewed at")
    def reviewed(self, obj: SafetyAlert) -> str:
        if obj.reviewed_at is None:
            return "—"
        return date_format(timezone.localtime(obj.reviewed_at), "M j, Y, g:i A T")

    @admin.display(description="Reviewed by")
    def reviewer(self, obj: SafetyAlert) -> str:
        if obj.reviewed_by is None:
            return "—"
        return obj.reviewed_by.get_full_name() or obj.reviewed_by.email

    @admin.display(description="Member's language")
    def language(self, obj: SafetyAlert) -> str:
        return {"es": "Spanish", "en": "English"}.get(obj.reservation.member.language or "en", "English")

    @admin.display(description="Roster")
    def roster_link(self, obj: SafetyAlert) -> str:
        return format_html(
            '<a href="{}">The group\'s roster</a>',
            reverse("admin:groups_group_roster", args=[obj.reservation.group_id]),
        )

    review_help = "What was done (who called, when, the plan). Saving marks it reviewed."
    review_service = safety_alert_review
    reviewable_statuses = SafetyAlert.UNREVIEWED  # taken by the on-call, still to be reviewed

    def response_change(self, request, obj):
        obj.refresh_from_db(fields=["status"])
        if obj.status != SafetyAlert.Status.REVIEWED:
            messages.warning(request, "Not reviewed: write what was done, then save.")
            return redirect("admin:care_safetyalert_change", obj.pk)
        messages.success(request, "Marked reviewed. The flag is off the roster.")
        return redirect("admin:groups_group_roster", object_id=obj.reservation.group_id)


def _answered(measure: Measure | None) -> bool:
    return measure is not None and MeasureResponse.objects.filter(measure=measure).exists()


class MeasureItemInline(admin.TabularInline):
    model = MeasureItem
    extra = 0
    fields = ("number", "text", "text_es")

    def has_change_permission(self, request, obj=None) -> bool:
        # The wording a member answered stays as it was: a new wording is a new version.
        return not _answered(obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return not _answered(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not _answered(obj)


@admin.register(Measure)
class MeasureAdmin(OperationsOnlyAdmin):
    """The questionnaires, as data (staff only). A clinic adds a measure, or a new version of
    one, as rows; once anyone has answered a version its wording and scoring are kept as they
    were (answers point at them), and only whether it is asked, its place, and its
    reliable-change threshold for the outcome figures may change."""

    list_display = ("code", "version", "title", "active", "position", "safety_item", "reliable_change")
    list_filter = ("active",)
    inlines = [MeasureItemInline]
    SCORING = ("code", "version", "options", "bands", "safety_item", "follow_up", "title", "title_es",
               "instructions", "instructions_es")  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        if _answered(obj):
            return self.SCORING
        return ()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # answers point at measures; one no longer asked is made inactive


class ClinicianChoice(forms.ModelChoiceField):
    """Staff accounts by name and email (a user's own str() is only an id)."""

    def label_from_instance(self, obj) -> str:
        return f"{obj.get_full_name() or '(no name)'} <{obj.email}>"


class OnCallClinicianForm(forms.ModelForm):
    user = ClinicianChoice(
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by(
            "last_name", "first_name", "email"
        ),
        help_text="A therapist's or staff account (they sign in with a second factor to open an alert).",
    )
    zone = forms.ChoiceField(
        choices=[(zone, f"{name} ({zone})") for zone, name in TIME_ZONE_CHOICES if zone != "UTC"],
        help_text="Where they are on call: the alert page tells them times in it.",
    )

    class Meta:
        model = OnCallClinician
        fields = ("user", "phone", "zone", "is_lead", "active")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Not someone already on the rota (they have their row: change it instead).
        taken = OnCallClinician.objects.exclude(pk=self.instance.pk).values("user_id")
        self.fields["user"].queryset = self.fields["user"].queryset.exclude(pk__in=taken)
        if self.instance.phone and not self.is_bound:
            self.initial["phone"] = phone_display(self.instance.phone)

    def clean_phone(self) -> str:
        number = phone_e164(self.cleaned_data["phone"])
        if not textable(number):
            raise ValidationError("A US mobile number: pages are texts and calls to it.")
        return number

    def clean_user(self):
        user = self.cleaned_data["user"]
        if not (user.is_staff and user.is_active):
            raise ValidationError("Only an active clinician or staff account can be on call.")
        return user


class OnCallShiftInline(admin.TabularInline):
    """Shifts, in your zone (named at the top of the page). Position 1 is paged first."""

    model = OnCallShift
    extra = 1
    fields = ("starts_at", "ends_at", "position")
    verbose_name = "on-call shift"
    verbose_name_plural = "on-call shifts (times in your zone; position 1 is paged first)"


@admin.register(OnCallClinician)
class OnCallClinicianAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    """The on-call rota: who is paged for a safety alert, when, at which phone. At any moment
    the shifts that cover it are the rota, the lowest position first: the first is texted and
    called at once, the next after ALERT_ESCALATE_MINUTES, everyone on it and every care-team
    lead after twice that. Times are entered in your zone (named at the top of the page)."""

    form = OnCallClinicianForm
    inlines = [OnCallShiftInline]
    list_display = ("__str__", "phone_shown", "zone", "is_lead", "active", "next_shift", "texts_blocked")
    list_filter = ("active", "is_lead")
    list_select_related = ("user",)
    autocomplete_fields = ()

    def get_queryset(self, request):
        from django.db.models import Min

        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                next_start=Min("shifts__starts_at", filter=models.Q(shifts__ends_at__gt=now)),
                stopped=models.Exists(StoppedNumber.objects.filter(phone=models.OuterRef("phone"))),
            )
        )

    @admin.display(description="Pages reach them", boolean=True)
    def texts_blocked(self, obj: OnCallClinician) -> bool:
        """False when their phone replied STOP: no text or call reaches it until START."""
        return not obj.stopped

    @admin.display(description="Phone")
    def phone_shown(self, obj: OnCallClinician) -> str:
        return phone_display(obj.phone)

    @admin.display(description="Next or current shift starts")
    def next_shift(self, obj: OnCallClinician) -> str:
        if obj.next_start is None:
            return "—"
        return date_format(timezone.localtime(obj.next_start), "M j, g:i A T")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # pages point at them; take someone off the rota with "active"
