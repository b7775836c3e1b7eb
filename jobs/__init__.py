"""The job system: the queue of analysis jobs in the database (`queue`), the worker that runs
one (`worker`), where workers run (`executors`), and what a write-back stores (`writeback`)."""
