"""Background jobs with Huey (an SQLite queue in the data dir by default, Redis to scale out):
the tasks (:mod:`.tasks`), the queue (:mod:`.queue`), consumers with one scheduler per instance
(:mod:`.consumer`) and runs taken up again after their worker died (:mod:`.runs`)."""

from dailypapers.jobs.consumer import InProcessConsumer, JobConsumer, start_in_process
from dailypapers.jobs.tasks import Jobs, fill_pending_submissions, make_jobs

__all__ = [
    "InProcessConsumer",
    "JobConsumer",
    "Jobs",
    "fill_pending_submissions",
    "make_jobs",
    "start_in_process",
]
