"""Admin list filters shared by the apps (the shared admin layer: imports nothing above it)."""

from __future__ import annotations

from django.contrib import admin


class ColumnValuesListFilter(admin.SimpleListFilter):
    """Offers the distinct non-empty values of `field` among the rows the user may see, at most SHOWN.

    A value not offered is one search away. `values_source` picks the rows the values come from;
    override it to bound the scan on a large table.
    """

    field = ""
    SHOWN = 30

    def values_source(self, request, model_admin):
        return model_admin.get_queryset(request)

    def lookups(self, request, model_admin):
        values = (
            self.values_source(request, model_admin)
            .exclude(**{self.field: ""})
            .order_by(self.field)
            .values_list(self.field, flat=True)
            .distinct()[: self.SHOWN]
        )
        return [(value, value) for value in values]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(**{self.field: value})
