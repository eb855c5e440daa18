"""Base classes of the admin helpers as the type checker sees them.

Django's admin classes are generic only in django-stubs: at run time they cannot be
subscripted, and a mixin must not inherit ``ModelAdmin`` (it would register twice as
a base). So mixins name their host for mypy only, and the real class at run time.
"""

from typing import TYPE_CHECKING, Any

from django.contrib import admin

if TYPE_CHECKING:
    ModelAdminBase = admin.ModelAdmin[Any]
    TabularInlineBase = admin.TabularInline[Any, Any]
    MixinAdminBase = admin.ModelAdmin[Any]
    InlineAdminBase = admin.options.InlineModelAdmin[Any, Any]
else:
    ModelAdminBase = admin.ModelAdmin
    TabularInlineBase = admin.TabularInline
    # The mixins' hosts, for the type checker only.
    MixinAdminBase = InlineAdminBase = object
