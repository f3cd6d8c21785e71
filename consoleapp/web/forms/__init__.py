"""The console's forms: one FlaskForm per page or wizard step, one module per area
(``auth``, ``account``, ``team``, ``apps``, ``wizard``); shared validators and fields live in
``validators`` and ``fields``."""
