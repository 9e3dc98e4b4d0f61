"""A task queued on commit runs in the schema it was queued in, even when the transaction
commits after the code left that schema (as a command seeding several missions does). A broker
that refuses it does not fail what has been committed: tests/appointments/test_emails.py."""

from django_tenants.utils import schema_context

from consulate.kernel.tenancy import current_schema, task_queue_on_commit


class RecordingTask:
    """Stands in for a Celery task: records the schema it is published in, which is what
    tenant-schemas-celery stamps on the message."""

    def __init__(self) -> None:
        self.published_in: list[str] = []

    def delay(self, *args: object) -> None:
        self.published_in.append(current_schema())


def test_the_schema_of_queueing_is_kept_until_commit(mission_a, django_capture_on_commit_callbacks):
    task = RecordingTask()
    # given one transaction (the test's, in public) that queues a task inside alpha's schema
    with django_capture_on_commit_callbacks(execute=True):
        with schema_context(mission_a.schema_name):
            task_queue_on_commit(task, 1)
        # when it commits after leaving alpha's schema
        assert current_schema() == "public"
    # then the task was published from alpha's schema, not public
    assert task.published_in == ["alpha"]
    assert current_schema() == "public"
