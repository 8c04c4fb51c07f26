from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import AccessToken, AuditEvent, Membership, Organization, TokenScope, User

admin.site.register(User, UserAdmin)
admin.site.register(Organization)
admin.site.register(Membership)


class TokenScopeInline(admin.TabularInline):
    model = TokenScope
    extra = 0
    raw_id_fields = ("repository", "organization")


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    inlines = [TokenScopeInline]
    list_display = ("name", "user", "role", "prefix", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target", "ip")
