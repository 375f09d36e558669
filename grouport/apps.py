from django.apps import AppConfig


class GrouportConfig(AppConfig):
    name = "grouport"
    verbose_name = "Accounts"
