"""Model: pick a saved model, read its card, or train a new one on the active data."""
from __future__ import annotations

import streamlit as st

from churn_core import workbench as wb
from churn_core.workbench import config
from pages import _model_views as _mv, _training as _tr, _ui

_ui.bootstrap(__file__)

st.title("Model")
st.caption("A model is a saved *bundle*: the neural network, its preprocessing, the column "
           "roles, the calibration and a model card recording how it was trained.")
msg = st.session_state.pop("trained_message", None)
if msg:
    st.success(msg, icon=":material/check_circle:")
if not st.session_state.get(_ui.TRAINING):  # a training this session does not watch:
    _tr.training_status(_ui.training_guard().job)  # still running, or what became of it


# ------------------------------------------------------------------ pick a saved model
names = _ui.list_models()
if not names:
    st.warning("No saved model in models/. Train one below.")
else:
    active = st.session_state.get(_ui.MODEL)
    choice = st.selectbox("Active model", names,
                          index=names.index(active) if active in names else 0,
                          format_func=wb.label_of,
                          help="Every page uses this model. Switching resets the decision "
                               "threshold and tier cutoffs to the model's defaults.")
    if choice != active:
        _ui.set_active_model(choice)
        st.rerun()

    try:
        bundle = _ui.get_bundle()
    except Exception as exc:
        _ui.show_error(exc, f"Model {choice!r} could not be loaded")
        bundle = None
    if bundle is not None:
        card = bundle.card or {}
        with st.container(border=True):
            st.subheader("Model card", divider="gray")
            if wb.is_synthetic(card):
                st.info(f"**{_ui.esc(wb.model_label(bundle))}** is a synthetic model: trained on "
                        "the shipped synthetic sample, not on real customers. Use it to try the "
                        "workbench; train a model on your own file before acting on its scores.",
                        icon=":material/science:")
            c = st.columns(4)
            c[0].metric("Test ROC-AUC", f"{card.get('test_roc_auc') or float('nan'):.3f}",
                        help="Ranking quality on held-out test customers: 0.5 = guessing, "
                             "1 = perfect.")
            c[1].metric("Test PR-AUC", f"{card.get('test_pr_auc') or float('nan'):.3f}",
                        help="Average precision: how clean the top of the ranking is. "
                             "Compare with the churn rate (a random ranking scores that).")
            c[2].metric("Default threshold", f"{wb.default_threshold(bundle):.3f}",
                        help="Chosen on the validation split (best F1).")
            c[3].metric("Churn rate in training data",
                        _ui.fmt_pct(card.get("churn_rate", float("nan"))))
            n = wb.card_counts(card)  # thousands separators: "10,000 valid rows of 10,000"
            hp = card.get("hyperparameters", {})
            st.markdown(
                f"- **Trained** {str(card.get('created', '?')).replace('T', ' ')} on "
                f"{_ui.esc(card.get('source') or '?')} ({n['valid']} valid rows of "
                f"{n['input']}); split train / validation / test = "
                f"{n['train']} / {n['validation']} / {n['test']}, seed {card.get('seed', '?')}\n"
                f"- **Target** {_ui.esc(card.get('target'))} = "
                f"{_ui.esc(card.get('positive_label'))} means "
                f"churned; {len(card.get('features', []))} feature columns\n"
                f"- **Network** hidden layers {hp.get('hidden')}, dropout {hp.get('dropout')}, "
                f"L2 {hp.get('l2')}, learning rate {hp.get('learning_rate')}, batch "
                f"{hp.get('batch_size')}, imbalance: {hp.get('imbalance')}; trained "
                f"{card.get('epochs_trained', '?')} epochs (best {card.get('best_epoch', '?')})\n"
                f"- **Calibration** {_ui.calibration_text(bundle)}")
            recipe_text, recipe_rows = wb.recipe_summary(card)
            st.markdown(f"- **Recipe** {_ui.esc(recipe_text)}")
            if recipe_rows is not None:
                st.dataframe(recipe_rows, hide_index=True)
            for text in card.get("warnings") or []:
                st.warning(text)
            if card.get("history"):
                st.plotly_chart(wb.figures.loss_figure(card["history"], card.get("best_epoch")),
                                key="card_loss")
            with (json_box := _ui.lazy_expander("Everything the card records (JSON)",
                                                  key="card_json_open")):
                if json_box.open:
                    st.json({k: v for k, v in card.items() if k != "history"}, expanded=1)
        # ---------------------------------------------------------- drift over batches
        from pages import _drift_ui

        _drift_ui.history_section(bundle)

# ------------------------------------------------------------------ registry
_mv.render_registry()

# ------------------------------------------------------------------ train a new model
st.subheader("Train a new model on the active data")
data = _ui.get_data()
guard = _ui.training_guard()
if data is None:
    st.info("Load a customer file with a churn column on the **Data** page first.")
    st.stop()

confirmed = st.session_state.get("label_confirmed") == (data.sha256, data.schema.target,
                                                        data.schema.positive_label)
sample = data.name == config.SAMPLE_CSV.name and st.session_state.get(_ui.DATA) is None
if not data.schema.target:
    st.info(f"{_ui.esc(data.name)} has no target column: set it on the **Data** page to train.")
    st.stop()
if data.schema.positive_label is None:
    st.warning(f"{_ui.esc(data.name)}: choose the value of {_ui.esc(data.schema.target)} that "
               "means churned on the **Data** page to train.")
    st.stop()
st.caption(f"Data: **{_ui.esc(data.name)}**, target {_ui.esc(data.schema.target)} = "
           f"{_ui.esc(data.schema.positive_label)} means churned.")
if not (confirmed or sample):
    st.warning("Confirm the churn label on the **Data** page before training.")

TC, IMBALANCE_MODES = wb.TrainConfig, wb.IMBALANCE_MODES
defaults = TC()
DEFAULT_NAME_KEY = "train_default_model_name"
RESET_NAME = "train_reset_model_name"  # set after a training: blank the name field
if st.session_state.pop(RESET_NAME, False):
    # assigned before the widget is drawn, so the browser's field is cleared too (removing
    # the key only reset the server's value: the field kept the last name, and a second
    # training was refused as "already exists")
    st.session_state[DEFAULT_NAME_KEY] = ""

with st.form("train_form", enter_to_submit=False):  # Enter in "Model name" must not train
    a, b, c = st.columns(3)
    # blank = automatic: the file stem + the time training ended (unique), given after training
    name = a.text_input("Model name", value="", key=DEFAULT_NAME_KEY,
                        placeholder=f"automatic: {_ui.safe_file_stem(data.name)}_<end of training>",
                        help="Leave blank for the file name + the time training ended. "
                             "Letters, digits, '.', '_' and '-'; other characters become '_'.")
    hidden = a.text_input("Hidden layers (units, comma separated)",
                          value=", ".join(str(h) for h in defaults.hidden))
    imbalance = a.selectbox("Imbalance handling", IMBALANCE_MODES,
                            index=(IMBALANCE_MODES.index(defaults.imbalance)
                                   if defaults.imbalance in IMBALANCE_MODES else 0),
                            help="class_weight: churners weigh more in the loss; smote: "
                                 "synthetic churners are added to the training split only; "
                                 "none: as is.")
    dropout = b.slider("Dropout", 0.0, 0.6, float(defaults.dropout), 0.05)
    l2 = b.number_input("L2 penalty", 0.0, 0.1, float(defaults.l2),
                        format="%.5f", step=1e-4)
    lr = b.number_input("Learning rate", 1e-5, 0.1,
                        float(defaults.learning_rate), format="%.4f",
                        step=1e-3)
    batch = c.select_slider("Batch size", [32, 64, 128, 256, 512, 1024],
                            value=int(defaults.batch_size))
    epochs = c.number_input("Max epochs", 1, 500, int(defaults.max_epochs))
    patience = c.number_input("Early-stopping patience (epochs)", 1, 50,
                              int(defaults.patience),
                              help="Training stops when the validation ROC-AUC has not improved "
                                   "for this many epochs; the best epoch is kept.")
    make_champion = st.checkbox(
        "Make it the champion (the model the app opens with)",
        value=wb.champion_is_synthetic(),
        help="Ticked by default while the champion is the synthetic model.")
    recipe = a.selectbox("Recipe", ["adaptive", "quick"],
                         help="adaptive: also tries a few fixed variants of these settings (more "
                              "regularisation, finer numeric bins, a wider network) and keeps the best "
                              "on the validation customers; quick: these settings only.")
    budget = c.number_input("Time budget for the adaptive recipe (s)", 5, 3600,
                            int(defaults.time_budget) if defaults else 60)
    start = st.form_submit_button(
        "Train and save", type="primary",
        disabled=bool(st.session_state.get(_ui.TRAINING)) or guard.busy or
        not (confirmed or sample) or TC is None)

if guard.busy and not st.session_state.get(_ui.TRAINING):
    st.info("Another training is running on this server (see the note at the top of the "
            "page); wait for it to finish.")

requested = st.session_state.pop(_mv.TRAIN_REQUEST, False)  # "Train a model on this file"
if requested and not start:
    if guard.busy or st.session_state.get(_ui.TRAINING) or TC is None:
        st.info("A training is already running: wait for it to finish.")
    elif not (confirmed or sample):
        st.warning("To train on this file, confirm the churn label on the **Data** page first.")
    else:
        start = True
if start:
    safe = wb.slug_model_name(name) if name.strip() else None
    if name.strip() and not safe:
        st.error("Please give the model a name (letters or digits), or leave it blank.")
        st.stop()
    if safe and safe in _ui.list_models():
        st.error(f"A model named {safe!r} already exists: choose another name.")
        st.stop()
    bad = [h.strip() for h in hidden.replace(";", ",").split(",")
           if h.strip() and not (h.strip().isascii() and h.strip().isdigit())]
    if bad:  # int('abc') would say "invalid literal for int() with base 10"
        st.error(f"Hidden layers: {_ui.esc(', '.join(repr(b) for b in bad))} is not a number of "
                 "units. Write whole numbers separated by commas, e.g. 64, 32.")
        st.stop()
    try:
        cfg = TC(hidden=tuple(int(h) for h in hidden.replace(";", ",").split(",") if h.strip()),
                 dropout=dropout, l2=l2, learning_rate=lr, batch_size=int(batch),
                 max_epochs=int(epochs), patience=int(patience), imbalance=imbalance,
                 recipe=recipe, time_budget=float(budget))
    except ValueError as exc:
        st.error(f"These settings cannot work: {exc}")
        st.stop()
    # the training runs on a server-side thread: a reload or a closed tab ends this page's
    # watching, not the training (pages/_training.py)
    job = guard.start(data, cfg, safe, make_champion=make_champion)
    if job is None:
        st.warning("A training is already running: wait for it to finish.")
        st.stop()
    st.session_state[_ui.TRAINING] = True
    bar = st.progress(0.0, text="Starting… (clicks made while the model trains wait until it "
                                "has finished)")
    chart = st.empty()
    held: list = []  # clicks made during training: kept, not allowed to abandon it
    st.caption("Training… the epoch with the best validation ROC-AUC is kept; training stops when "
               "it has not improved for the patience you set.")
    try:
        _tr.watch_training(job, bar, chart, held)
    finally:  # also when the session went away: the training goes on
        st.session_state[_ui.TRAINING] = False
    job.watched = True
    if job.error is not None:
        _ui.show_error(job.error, "Training failed")
    else:
        bundle, saved = job.bundle, job.name

        def _finish() -> None:
            _ui.set_active_model(saved)
            st.session_state[RESET_NAME] = True  # next training suggests a new name
            st.session_state["trained_message"] = (
                f"Model **{saved}** trained and saved in models/{saved}; it is now the active "
                + ("model and the champion " if make_champion else "model ")
                + f"(test ROC-AUC {bundle.card.get('test_roc_auc') or float('nan'):.3f}).")

        _ui.hold_reruns(_finish, held)
    if "trained_message" in st.session_state or held:
        _ui.replay_held_rerun(held)
