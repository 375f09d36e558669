"""Why a seat waits for the member's intake or consent, or cannot be theirs at their age."""

from django.utils.translation import gettext_lazy as _

from grouport.exceptions import Forbidden, InvalidInput


class IntakeRequired(InvalidInput):
    code = "intake_required"
    default_detail = _(
        "Before a seat in a therapy group, the clinic needs a few details to care for you safely: "
        "please complete your intake."
    )


class ConsentRequired(InvalidInput):
    code = "consent_required"
    default_detail = _("Please read and sign the consent to telehealth group treatment first.")


class AgeOutOfRange(Forbidden):
    code = "too_young"
    default_detail = _(
        "This group is for adults, so we can't offer you a seat in it. You deserve support that "
        "fits you: the groups below are open to you, and if you are struggling now, call or text "
        "988, any time."
    )
    # When no open group is meant for their age: said without pointing at an empty list.
    detail_without_groups = _(
        "This group is for adults, so we can't offer you a seat in it, and none of our groups is "
        "open to your age right now. You deserve support that fits you: if you are struggling, "
        "call or text 988, any time, and a trusted adult or your school counselor can help you "
        "find a group for your age."
    )


class AgeAboveRange(AgeOutOfRange):
    code = "age_out_of_range"
    default_detail = _(
        "This group is meant for a younger age range, so we can't offer you a seat in it. The "
        "groups below are open to you."
    )
    detail_without_groups = _(
        "This group is meant for a younger age range, so we can't offer you a seat in it. Our "
        "other groups are listed on the home page."
    )
