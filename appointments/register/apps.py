from django.apps import AppConfig


class AppointmentsRegisterConfig(AppConfig):
    """HQ's register of bookings, built from the missions' booking events: public schema.
    Its projector is registered with sync by `appointments.apps.AppointmentsConfig.ready`."""

    name = "appointments.register"
    label = "appointments_register"
    verbose_name = "Bookings register (HQ)"
