"""Background tasks: the ONLY place in the app that starts threads.

Widgets never compute. They hand a core function and its arguments to
:meth:`TaskRunner.start`; the call runs on a worker thread (a long-lived ``QThread``) with a
:class:`TaskFeedback` (progress + cancellation, the core's feedback protocol), and its
outcome comes back on the GUI thread through Qt signals (queued connections):
``on_done(result)``, ``on_error(exception)`` or ``on_cancelled()``. Workers never touch
widgets; the callbacks run on the GUI thread.

Cancellation is cooperative: :meth:`Task.cancel` sets a thread-safe flag that the core
reads through ``feedback.cancelled()`` between chunks and answers by raising
:class:`coverage_app.core.feedback.Cancelled`.

Why long-lived QThreads and not QThreadPool: a QRunnable runs Python with a thread state
created and destroyed around every run. pyproj 3.7 keeps its per-thread PROJ context in a
``threading.local`` (dies with the thread state) but caches the pointer in OS-thread storage
(survives it), so the second task on a reused pool thread crashes in ``CRS()``
(pyproj issues #1509 and #1622). Each worker here is a QThread whose ``run()`` stays in
Python for the thread's whole life, pulling tasks from a queue, so its thread state, and
pyproj's context with it, lives exactly as long as the OS thread.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import traceback
import weakref
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from coverage_app.core.feedback import Cancelled

log = logging.getLogger("coverage_app.ui")


class TaskFeedback:
    """The ``feedback`` object handed to core functions (thread-safe)."""

    def __init__(self, task: "Task"):
        self._task = task
        self._cancel = threading.Event()
        self._last_emit = 0.0

    def progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        # at most ~30 updates per second reach the GUI thread, plus the final one
        if fraction >= 1.0 or now - self._last_emit > 0.033:
            self._last_emit = now
            self._task.signals.progress.emit(float(fraction), str(message or ""))

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()


class _Signals(QObject):
    progress = Signal(float, str)
    done = Signal(object)
    failed = Signal(object, str)
    cancelled = Signal()
    finished = Signal()


def _execute(task: "Task") -> None:  # worker thread: never touch widgets here
    signals = task.signals
    try:
        if task.feedback.cancelled():
            raise Cancelled()
        kwargs = dict(task.kwargs)
        if task.pass_feedback:
            kwargs["feedback"] = task.feedback
        result = task.fn(*task.args, **kwargs)
        if task.feedback.cancelled() and task.discard_if_cancelled:
            raise Cancelled()
    except Cancelled:
        signals.cancelled.emit()
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI thread
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        signals.failed.emit(exc, text)
    else:
        signals.done.emit(result)
    finally:
        task._finished_event.set()
        signals.finished.emit()


class _Worker(QThread):
    """A long-lived worker thread running tasks from the runner's queue (see module doc)."""

    def __init__(self, runner: "TaskRunner"):
        super().__init__()
        self.runner = runner
        self.setObjectName("coverage-worker")

    def run(self) -> None:
        jobs = self.runner._queue
        while True:
            task = jobs.get()
            if task is None:
                break
            with self.runner._lock:
                self.runner._idle -= 1
            try:
                _execute(task)
            finally:
                with self.runner._lock:
                    self.runner._idle += 1


class Task(QObject):
    """One call running in the background. Emits ``progressed`` and ``ended`` on the GUI thread."""

    progressed = Signal(float, str)
    ended = Signal(str)  # "done", "failed", "cancelled"

    def __init__(self, runner: "TaskRunner", fn: Callable, args, kwargs, *, label: str,
                 cancellable: bool, pass_feedback: bool, on_done, on_error, on_cancelled, group: str | None):
        super().__init__(runner)
        self.runner = runner
        self.fn, self.args, self.kwargs = fn, tuple(args), dict(kwargs)
        self.label = label
        self.cancellable = cancellable
        self.pass_feedback = pass_feedback
        self.discard_if_cancelled = True
        self.group = group
        self.feedback = TaskFeedback(self)
        self.signals = _Signals()
        self.fraction = 0.0
        self.message = label
        self.state = "running"
        self.error: BaseException | None = None
        self.error_text = ""
        self.result = None
        self._finished_event = threading.Event()
        self._on_done, self._on_error, self._on_cancelled = on_done, on_error, on_cancelled
        self.signals.progress.connect(self._progress)
        self.signals.done.connect(self._done)
        self.signals.failed.connect(self._failed)
        self.signals.cancelled.connect(self._cancelled)

    # -- GUI thread -----------------------------------------------------------------
    def cancel(self) -> None:
        if self.state == "running":
            self.feedback.cancel()

    def is_running(self) -> bool:
        return self.state == "running"

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the worker has returned (for shutdown and tests)."""
        return self._finished_event.wait(timeout_s)

    def _progress(self, fraction: float, message: str) -> None:
        if self.state != "running":
            return
        self.fraction = fraction
        if message:
            self.message = message
        self.progressed.emit(fraction, self.message)

    def _end(self, state: str, callback, *args) -> None:
        self.state = state
        self.runner._forget(self)
        try:
            if callback is not None:
                callback(*args)
        finally:
            self.ended.emit(state)
            self.runner.task_ended.emit(self, state)

    def _done(self, result) -> None:
        self.result = result
        if self.feedback.cancelled():  # cancelled after the core finished: still report cancelled
            self._end("cancelled", self._on_cancelled)
            return
        self._end("done", self._on_done, result)

    def _failed(self, exc, text: str) -> None:
        self.error, self.error_text = exc, text
        log.error("task %r failed:\n%s", self.label, text)
        self._end("failed", self._on_error, exc)

    def _cancelled(self) -> None:
        self._end("cancelled", self._on_cancelled)


class TaskRunner(QObject):
    """Starts :class:`Task` objects on worker threads and tracks the running ones."""

    task_started = Signal(object)
    task_ended = Signal(object, str)

    def __init__(self, parent=None, max_threads: int = 3):
        super().__init__(parent)
        self.max_threads = max(1, int(max_threads))
        self._queue: "queue.Queue[Task | None]" = queue.Queue()
        self._lock = threading.Lock()
        self._idle = 0
        self._workers: list[_Worker] = []
        self.running: list[Task] = []
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        ref = weakref.ref(self)
        atexit.register(lambda: ref() is not None and ref().shutdown(5000))

    def _ensure_worker(self) -> None:
        with self._lock:
            need = self._idle <= self._queue.qsize() and len(self._workers) < self.max_threads
            if need:
                self._idle += 1
        if need:
            worker = _Worker(self)
            self._workers.append(worker)
            worker.start()

    def start(self, fn: Callable, *args, label: str = "Working", cancellable: bool = True,
              pass_feedback: bool = True, on_done=None, on_error=None, on_cancelled=None,
              group: str | None = None, replace: bool = False, **kwargs) -> Task:
        """Run ``fn(*args, **kwargs, feedback=...)`` in the background.

        ``group`` names a kind of work (e.g. "analysis"); with ``replace=True`` a new task
        cancels the running tasks of its group (their outcome is then ignored).
        """
        if replace and group:
            for other in list(self.running):
                if other.group == group:
                    other.cancel()
        task = Task(self, fn, args, kwargs, label=label, cancellable=cancellable, pass_feedback=pass_feedback,
                    on_done=on_done, on_error=on_error, on_cancelled=on_cancelled, group=group)
        self.running.append(task)
        # the worker first: a listener of task_started may repaint synchronously (a progress bar's
        # setValue flushes the window, map included: ~50 ms a what-if edit used to wait for)
        self._queue.put(task)
        self._ensure_worker()
        self.task_started.emit(task)
        return task

    def _forget(self, task: Task) -> None:
        if task in self.running:
            self.running.remove(task)

    def busy(self, group: str | None = None) -> bool:
        return any(group is None or t.group == group for t in self.running)

    def cancel_all(self) -> None:
        for task in list(self.running):
            task.cancel()

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until every started task's worker call has returned (not its GUI callback)."""
        deadline = time.monotonic() + timeout_s
        for task in list(self.running):
            if not task.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel everything, stop the worker threads and wait for them (window close, tests)."""
        self.cancel_all()
        for _ in self._workers:
            self._queue.put(None)
        ok = True
        for worker in self._workers:
            try:
                ok = worker.wait(timeout_ms) and ok
            except RuntimeError:  # the C++ object is already gone
                pass
        self._workers.clear()
        with self._lock:
            self._idle = 0
        return ok
