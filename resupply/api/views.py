"""Resupply API: the replacement rules (read) and the outreach worklist, whose
actions call ``resupply.services`` (record a contact, create the order)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.permissions import ActionPermission
from core.api.views import TenantReadOnlyViewSet

from .. import services
from ..models import ReplacementRule, ResupplyRequest
from . import serializers


class ReplacementRuleViewSet(TenantReadOnlyViewSet):
    """The replacement schedule: global defaults (``company`` null, LCD L33718) and
    the company's overrides (all payers, or one)."""

    queryset = ReplacementRule.objects.all()
    serializer_class = serializers.ReplacementRuleSerializer
    filterset_fields = ["hcpcs_code", "payer", "is_active"]
    ordering = ["hcpcs_code", "id"]


class ResupplyRequestViewSet(TenantReadOnlyViewSet):
    """The outreach worklist. ``?status=open``: patients to contact now;
    ``confirmed``: ready to order. ``POST .../contact/`` records a contact (409
    ``request_closed``, 400 ``too_early_to_contact`` / ``invalid_contact``);
    ``POST .../order/`` creates the DME order (409 ``not_confirmed``, 400
    ``no_confirmation`` / ``too_early_to_ship``)."""

    queryset = ResupplyRequest.objects.prefetch_related("items")
    serializer_class = serializers.ResupplyRequestSerializer
    filterset_fields = ["patient", "status"]
    ordering = ["due_on", "id"]
    permission_classes = [ActionPermission]
    action_permissions = {
        "contact": ["resupply.change_resupplyrequest", "resupply.add_resupplycontact"],
        "order": ["resupply.change_resupplyrequest", "dme.add_order"],
    }

    @extend_schema(
        request=serializers.RecordContactSerializer,
        responses={201: serializers.ResupplyContactSerializer},
    )
    @action(detail=True, methods=["post"])
    def contact(self, request, pk=None):
        resupply = self.get_object()
        body = serializers.RecordContactSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        contact = services.record_contact(
            resupply,
            user=request.user,
            channel=data["channel"],
            outcome=data["outcome"],
            items={
                line["item"]: {
                    "on_hand": line["on_hand"],
                    "wanted": line["wanted"],
                    "quantity": line["quantity"],
                }
                for line in data.get("items", [])
            },
            note=data.get("note", ""),
        )
        return Response(
            serializers.ResupplyContactSerializer(contact).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, responses={201: serializers.ResupplyRequestSerializer})
    @action(detail=True, methods=["post"])
    def order(self, request, pk=None):
        resupply = self.get_object()
        services.create_resupply_order(resupply, as_of=timezone.localdate())
        resupply = self.get_queryset().get(pk=resupply.pk)
        return Response(self.get_serializer(resupply).data, status=status.HTTP_201_CREATED)
