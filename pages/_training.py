"""The Model page's training display: the live progress of a training this session started,
and what became of a training whose page was reloaded or closed (item 8 of the break-it
report).

A training runs on a server-side thread (:meth:`workbench.TrainingGuard.start`), not in the
page's script: when the browser reloads or closes, Streamlit stops the session's script at
its next ``st`` call, which now only ends the *watching*; the model is still saved (and made
the champion when asked). The next session's Model page says what happened.
Reaches the core only through :mod:`churn_core.workbench`.
"""
from __future__ import annotations

import time

import streamlit as st

from churn_core import workbench as wb
from pages._ui import MODEL, esc, hold_reruns, set_active_model

#: Seconds between two looks at a running training (the progress bar, the status note).
POLL_SECONDS = 0.25
STATUS_SECONDS = 2.0


def epoch_words(epoch: int, max_epochs: int, logs: dict) -> str:
    """``"Epoch 5 of at most 60"``, or the adaptive recipe's candidate and epoch."""
    if "candidate_number" in logs:  # the adaptive recipe: one candidate after another
        return (f"Candidate {logs['candidate_number']} of {logs['candidates']} "
                f"({logs['candidate']}) · epoch {logs['candidate_epoch']} of at most "
                f"{logs['candidate_max_epochs']}")
    return f"Epoch {epoch} of at most {max_epochs}"


def watch_training(job: wb.TrainingJob, bar, chart, held: list) -> None:
    """Draw ``job``'s progress into ``bar`` and ``chart`` until it has finished.

    Clicks made meanwhile are kept in ``held`` (:func:`pages._ui.hold_reruns`). When the
    session goes away (F5, closed tab), Streamlit's stop request ends this function at the
    next drawing; the training itself goes on and saves its model.
    """
    seen = 0
    while not job.done.wait(POLL_SECONDS):
        progress = job.progress
        epoch = progress["epoch"]
        if epoch == seen:
            continue
        seen = epoch
        logs = dict(progress["logs"])
        history = {k: list(v) for k, v in progress["history"].items()}
        max_epochs = progress["max_epochs"]

        def draw() -> None:
            bar.progress(min(epoch / max(max_epochs, 1), 1.0),
                         text=epoch_words(epoch, max_epochs, logs) + " · loss "
                         f"{logs.get('loss', float('nan')):.4f} · validation loss "
                         f"{logs.get('val_loss', float('nan')):.4f} · "
                         + (f"validation ROC-AUC {logs['val_auc']:.4f} · " if "val_auc" in logs
                            else "")
                         + f"{time.time() - job.started:.0f} s")
            # the key counts held clicks: a retried draw must not reuse the key of the try
            # that a click interrupted
            chart.plotly_chart(wb.figures.loss_figure(history),
                               key=f"live_loss_{epoch}_{len(held)}")

        hold_reruns(draw, held)


def _started(job: wb.TrainingJob) -> str:
    """``started at 14:03 on <file>`` with the file name escaped (markdown)."""
    return (f"started at {time.strftime('%H:%M', time.localtime(job.started))} on "
            f"{esc(job.source)}")


def training_status(job: wb.TrainingJob | None) -> None:
    """What a training not watched by this session is doing: still running (the note checks
    again every :data:`STATUS_SECONDS` and reruns the page when it has finished), or finished
    after its page went away (the model's name, or why it failed)."""
    if job is None:
        return
    if job.running:
        @st.fragment(run_every=STATUS_SECONDS)
        def running_note() -> None:
            if not job.running:
                st.rerun()  # the whole page: the registry now lists the new model
            p = job.progress
            where = (epoch_words(p["epoch"], p["max_epochs"], p["logs"]) if p["epoch"]
                     else "starting")
            st.info(f"A training {_started(job)} is still running on this server "
                    f"({esc(where)}, {time.time() - job.started:.0f} s so far). Its model is "
                    "saved and appears in the registry when it finishes, also when the page "
                    "that started it was reloaded or closed. This note updates by itself.",
                    icon=":material/hourglass_top:")

        running_note()
        return
    if job.watched:  # the page that started it showed the end
        return
    # finished while no page watched it (reloaded or closed): say what became of it
    if job.error is not None:
        st.error(f"The training {_started(job)} failed: {esc(job.error)}")
        return
    auc = (job.bundle.card or {}).get("test_roc_auc") if job.bundle is not None else None
    st.success(f"The training {_started(job)} finished: model **{esc(job.name)}** "
               f"was saved in models/{esc(job.name)}"
               + (f" (test ROC-AUC {auc:.3f})" if auc is not None else "") + ".",
               icon=":material/check_circle:")
    if st.session_state.get(MODEL) != job.name and job.name in wb.list_models():
        if st.button(f"Make {job.name} the active model", key="use_finished_training"):
            set_active_model(job.name)
            st.rerun()
