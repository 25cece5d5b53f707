"""Batch-health blocks shared by the Data, Score & segment and Model pages (not a page).

Everything is computed by :mod:`churn_core.workbench` (``batch_drift``, ``drift_history``);
these functions only render.
"""
from __future__ import annotations

import streamlit as st

from churn_core import workbench as wb
from pages import _display, _ui

_BOX = (st.success, st.warning, st.error)
_ICON = (":material/check_circle:", ":material/visibility:", ":material/warning:")


def drift_section(bundle, scores, key: str, record: bool = False) -> "wb.DriftView":
    """Verdict, the columns behind it, PSI per column and a training-vs-file chart.

    Parameters
    ----------
    bundle : ModelBundle
    scores : Scores
    key : str
        Widget-key prefix (unique per page).
    record : bool, default False
        Offer a button that appends this batch to the model's drift history.
    """
    st.subheader("Is this file like the training data?")
    view = wb.batch_drift(bundle, scores)  # kept on the Scores, shared by every session
    if not view.available:
        st.info(f"Model **{_ui.esc(bundle.name)}**: {_ui.esc(view.message)}.")
        return view
    _BOX[view.level](_ui.esc(view.message), icon=_ICON[view.level])
    st.caption(view.bands + " Each column's drift is measured against the training rows of "
               f"model **{_ui.esc(bundle.name)}** ({view.report.training_rows:,} customers).")
    hi = view.high_tier()
    if hi is not None:
        st.caption(f"High risk tier: **{_ui.fmt_pct(hi[1])}** of this file vs "
                   f"**{_ui.fmt_pct(hi[0])}** of the training customers at the model's tier "
                   "cutoffs. A large gap with no drifted column means the mix of customers "
                   "changed in ways the columns do not show one by one.")
    # built only while open (charts and table of every column); keyed per model and file, so
    # a file that drifted from the active model's training data opens on its own
    with (box := _ui.lazy_expander(
            "Drift per column: training vs this file", expanded=view.level > 0,
            key=f"{key}_drift_open_{bundle.name}_{scores.data_sha256[:12]}")):
        if box.open:
            st.plotly_chart(_ui.derived("figure", scores, lambda: wb.psi_overview_figure(view),
                                        "drift_psi"), key=f"{key}_drift_psi")
            names = view.chart_columns()
            # keyed per model and file: a new file opens on its own most drifted column; the
            # choice is kept while the panel is closed (_ui.synced)
            col_key = f"{key}_drift_col_{bundle.name}_{scores.data_sha256[:12]}"
            if st.session_state.get(col_key) not in names:
                st.session_state[col_key] = names[0]
            col = _ui.synced(st.selectbox, "Column to compare", col_key, key, options=names)
            st.plotly_chart(_ui.derived("figure", scores, lambda: wb.drift_figure(view, col),
                                        "drift_bars", col), key=f"{key}_drift_bars")
            d = view.column(col)
            t = d["test"]
            st.caption(f"Effect size: {_ui.esc(d['effect_name'])}. "
                       f"Footnote: chi-square statistic {t['chi2']:.1f} on {t['df']} degrees "
                       f"of freedom (p = {t['p_value']:.2g}); on large files tiny, harmless "
                       "shifts are 'significant', so the verdict uses the size of the shift "
                       "(PSI) and only needs the test to rule out noise (PSI must exceed "
                       f"{d['noise_psi']:.3f} at {view.report.rows:,} rows).")
            number = st.column_config.NumberColumn
            st.dataframe(view.table, hide_index=True, column_config={
                "PSI": number(format="%.3f"), "effect size": number(format="%.3f"),
                "blank % (training)": number(format=_display.PCT_FORMAT),
                "blank % (file)": number(format=_display.PCT_FORMAT),
                "not in training % (file)": number(format=_display.PCT_FORMAT)})
    if record:
        if st.button("Add this batch to the model's drift history", key=f"{key}_drift_record",
                     help="The Model page charts the drift of every recorded batch."):
            added = wb.record_batch(bundle, scores, view)
            st.success("Recorded in the drift history." if added else
                       "This file is already in the model's drift history.")
    return view


def history_section(bundle) -> None:
    """The model's drift over recorded batches (Model page)."""
    st.subheader("Drift over scored batches", divider="gray")
    if getattr(bundle, "profile", None) is None:
        st.info(f"Model **{_ui.esc(bundle.name)}**: {_ui.esc(wb.NO_PROFILE)}.")
        return
    hist, key_cols = wb.drift_history(bundle.name, model_created=bundle.card.get("created"))
    if not len(hist):
        st.info("No batch recorded yet. Batches are recorded by `python -m churn_core score` "
                "and by the button under the drift check on **Score & segment**.")
        return
    st.plotly_chart(wb.history_chart(hist, key_cols), key="model_drift_history")
    st.caption("PSI of the columns that moved most and of the churn score, per batch, against "
               "this model's training rows. " + wb.BANDS_TEXT)
    _display.show_table(hist[["batch", "scored at", "rows", "verdict", "columns behind",
                              "High tier % (file)", "High tier % (training)"]],
                        hide_index=True, counts=("rows",), column_config={
                            c: st.column_config.NumberColumn(format=_display.PCT_FORMAT)
                            for c in ("High tier % (file)", "High tier % (training)")})
