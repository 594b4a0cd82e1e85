"""File-screening jobs, as the service runs them: an upload kept beside the database with its options, screened in
the background through the streaming path of `screener screen`, its result stored batch by batch, its reports written
on request, and every trace of it deleted on request or once it is older than the retention."""
