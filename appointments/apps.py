from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"

    def ready(self) -> None:
        # HQ builds its bookings register from this app's events (appointments/register/).
        from sync.registry import projector_register

        from .register.projector import NAME, TOPICS, bookings_project, bookings_rebuild

        projector_register(
            name=NAME, topics=TOPICS, apply=bookings_project, rebuild=bookings_rebuild
        )
        # ... and its availability register, from the services' availability reports
        from .register import availability

        projector_register(
            name=availability.NAME,
            topics=availability.TOPICS,
            apply=availability.availability_project,
            rebuild=availability.availability_rebuild,
        )
        # ... and HQ's staff activity register, from what only staff do with a booking
        from missions.register.activity import activity_register

        from .events import AppointmentTopic

        activity_register(
            name="appointments.activity",
            topics=[
                AppointmentTopic.BOOKING_CHECKED_IN,
                AppointmentTopic.BOOKING_CALLED,
                AppointmentTopic.BOOKING_SERVED,
                AppointmentTopic.BOOKING_NO_SHOW,
            ],
        )
        # HQ monitoring's appointments columns, alerts, trends and tables (docs/monitoring.md)
        from missions.monitoring import monitoring_register

        from .register.monitoring import contributor

        monitoring_register(contributor)
        # this process's copies of the services (selectors.service_get_offered) go at each save
        from django.db.models.signals import post_delete, post_save

        from .models import Service

        post_save.connect(_service_changed, sender=Service, dispatch_uid="services-here-save")
        post_delete.connect(_service_changed, sender=Service, dispatch_uid="services-here-delete")


def _service_changed(**_: object) -> None:
    """Drop this process's copies now, and again once the change commits: a copy another
    thread read from the old row meanwhile goes too."""
    from django.db import transaction

    from .selectors import service_forget_here

    service_forget_here()
    transaction.on_commit(service_forget_here)
