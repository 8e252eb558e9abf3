from django.apps import AppConfig


class LoansConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "loans"

    def ready(self) -> None:
        from config.api import name_valid_choices

        name_valid_choices()
