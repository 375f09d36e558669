"""Form widgets of our own: a select of many fixed options rendered in Python."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

# (language, the options) -> each option's HTML, unselected; and for fixed lists, by name.
_RENDERED: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[str], dict[str, int]]] = {}
_FIXED: dict[tuple[str, str], tuple[list[str], dict[str, int]]] = {}


class FastSelect(forms.Select):
    """A ``<select>`` of many fixed options (every time zone in the world), rendered in Python.

    Django renders each option through its own template include: the 508 zones of the "show
    times in" select took three quarters of the catalog page (bench/catalog.py). The options
    are rendered once per language and reused; only the chosen one changes. The HTML is
    Django's own (``<option value="..." selected>``), so forms and scripts see no difference.

    ``fixed="name"``: the choices never change while the process runs (every time zone), so
    they are not even listed again to see whether they did.
    """

    def __init__(self, attrs=None, choices=(), *, fixed: str = "") -> None:
        super().__init__(attrs, choices)
        self.fixed = fixed

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        chosen = "" if value is None else str(value)
        options, index = self._options()
        if chosen in index:
            options = list(options)
            at = index[chosen]
            options[at] = options[at].replace('">', '" selected>', 1)
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(options)))  # noqa: S308

    def _options(self) -> tuple[list[str], dict[str, int]]:
        language = get_language() or ""
        if self.fixed:
            # Named by the form that owns the list: two lists of the same zones may label their
            # blank option differently ("My own time", "The usual one for my state").
            cached = _FIXED.get((language, self.fixed))
            if cached is None:
                cached = _FIXED[(language, self.fixed)] = self._render(list(self.choices))
            return cached
        choices = [(str(v), str(label)) for v, label in self.choices]
        key = (language, tuple(choices))
        cached = _RENDERED.get(key)
        if cached is None:
            cached = self._render(choices)
            if len(_RENDERED) < 256:
                _RENDERED[key] = cached
        return cached

    @staticmethod
    def _render(choices: list) -> tuple[list[str], dict[str, int]]:
        rendered = [
            f'<option value="{conditional_escape(str(v))}">{conditional_escape(label)}</option>'
            for v, label in choices
        ]
        return rendered, {str(v): i for i, (v, _label) in enumerate(choices)}
