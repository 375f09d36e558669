from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Groups"
    role_permissions = {
        "therapist": {"group": ("view", "change"), "groupsession": ("view", "change")},
        "staff": {
            "therapist": ("view", "add", "change"),
            "license": ("view", "add", "change", "delete"),
            "group": ("view", "add", "change"),
            "groupsession": ("view", "change"),
        },
    }
