"""Model fields that keep personal data encrypted at rest.

Values are plain Python values on the model and `bytea` blobs (see `envelope`) in the database.
For a model in mission schemas the key is the mission's: the schema comes from the connection
(`connection.schema_name`, set by django-tenants), and a write while the connection is on the
public schema is refused. A model of the public schema itself (accounts, which every mission
reads) passes `shared=True`: its values are under the public schema's key whatever schema the
connection is on. The context comes from the model label and field name, so
django-simple-history's Historical* copies get their own context and hold only ciphertext too.
Renaming a model or field changes the context and makes its existing blobs unreadable; pass
`context=` with the old value to keep them.

Encrypted columns cannot be searched (each write uses a fresh nonce): only `isnull` lookups are
allowed, any other raises FieldError. Exact lookups go through a `BlindIndexField`.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.core import checks, exceptions
from django.db import connections, models, router
from django.db.models.lookups import Lookup
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from .blind_index import INDEX_LENGTH, blind_index
from .envelope import EncryptionError, decrypt, encrypt


def _schema_of(connection: Any) -> str:
    return str(getattr(connection, "schema_name", ""))


def _key_schema(*, shared: bool, connection: Any) -> str:
    """Whose key: the public schema's for a shared model, else the connection's mission's."""
    if shared:
        return str(settings.PUBLIC_SCHEMA_NAME)
    schema = _schema_of(connection)
    if schema == settings.PUBLIC_SCHEMA_NAME:
        raise EncryptionError(
            "a mission's personal data is encrypted with its own key; the connection is on the"
            " public schema"
        )
    return schema


class EncryptedField(models.Field):  # type: ignore[type-arg]
    """Base: subclasses convert between the Python value and the text that is encrypted."""

    def __init__(
        self, *args: Any, context: str | None = None, shared: bool = False, **kwargs: Any
    ) -> None:
        self._context = context
        self.shared = shared
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self._context is not None:
            kwargs["context"] = self._context
        if self.shared:
            kwargs["shared"] = True
        return name, path, args, kwargs

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if self.primary_key or self.unique or getattr(self, "db_index", False):
            # Fresh nonces make equal values differ: such an index or constraint never matches.
            errors.append(
                checks.Error(
                    "encrypted fields cannot be primary keys, unique or indexed",
                    hint="Index a BlindIndexField(source=...) next to it instead.",
                    obj=self,
                    id="crypto.E001",
                )
            )
        return errors

    @property
    def context(self) -> str:
        return self._context or f"{self.model._meta.label}.{self.name}"

    def get_internal_type(self) -> str:
        return "BinaryField"  # a bytea column

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def _to_text(self, value: Any) -> str:
        raise NotImplementedError

    def _from_text(self, text: str) -> Any:
        raise NotImplementedError

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        schema = _key_schema(shared=self.shared, connection=connection)
        return self._from_text(decrypt(bytes(value), schema_name=schema, context=self.context))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = self.get_prep_value(value)
        if value is None:
            return None
        schema = _key_schema(shared=self.shared, connection=connection)
        return encrypt(self._to_text(value), schema_name=schema, context=self.context)

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else self._to_text(value)


class EncryptedTextField(EncryptedField):
    """Encrypted text (passport and ID numbers, places of birth, addresses)."""

    description = _("Encrypted text")

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def get_prep_value(self, value: Any) -> Any:
        return self.to_python(super().get_prep_value(value))

    def _to_text(self, value: Any) -> str:
        return str(value)

    def _from_text(self, text: str) -> str:
        return text

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.CharField, **kwargs})


class EncryptedDateField(EncryptedField):
    """An encrypted `datetime.date` (dates of birth)."""

    description = _("Encrypted date")
    empty_strings_allowed = False
    default_error_messages = {"invalid": _("“%(value)s” is not a valid date (YYYY-MM-DD).")}

    def to_python(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            parsed = parse_date(str(value))
        except ValueError:
            parsed = None
        if parsed is None:
            raise exceptions.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": value}
            )
        return parsed

    def get_prep_value(self, value: Any) -> Any:
        return self.to_python(super().get_prep_value(value))

    def _to_text(self, value: Any) -> str:
        return str(self.to_python(value).isoformat())

    def _from_text(self, text: str) -> datetime.date:
        return datetime.date.fromisoformat(text)

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.DateField, **kwargs})


class BlindIndexField(models.CharField):  # type: ignore[type-arg]
    """Keeps the blind index of an encrypted field on the same model, computed on every save.

    `source` names the encrypted field; `purpose` (default: the source name) separates indexes,
    and is what two models share if their values should match each other. The index is computed
    in `pre_save`, so it follows `save()` and `bulk_create()`; with `save(update_fields=...)` name
    both fields, and `update()` / `bulk_update()` of the source need the index set explicitly.
    Query with `filter(<index>__matches="u 123-456")` or `filter(<index>=blind_index(...))`.
    """

    description = _("Blind index")

    def __init__(
        self,
        *args: Any,
        source: str,
        purpose: str | None = None,
        shared: bool = False,
        **kwargs: Any,
    ) -> None:
        self.source = source
        self.purpose = purpose or source
        self.shared = shared  # as the source's: indexed under the public schema's key
        kwargs.setdefault("max_length", INDEX_LENGTH)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if self.purpose != self.source:
            kwargs["purpose"] = self.purpose
        if self.shared:
            kwargs["shared"] = True
        # Our defaults differ from Field's, so each is read from the field itself: Field's
        # deconstruct leaves out a value equal to Field's default (db_index=False), which would
        # come back as ours
        for option, default in (
            ("max_length", INDEX_LENGTH),
            ("editable", False),
            ("db_index", True),
            ("blank", True),
        ):
            value = getattr(self, option)
            if value == default:
                kwargs.pop(option, None)
            else:
                kwargs[option] = value
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.source)
        if value is None or value == "":
            index = None if self.null else ""
        else:
            alias = model_instance._state.db or router.db_for_write(type(model_instance))
            connection = connections[alias]
            index = self.index_of(str(value), connection=connection)
        setattr(model_instance, self.attname, index)
        return index

    def index_of(self, value: str, *, connection: Any) -> str:
        """The index `value` has in this column (for `update()` and `bulk_update()` callers)."""
        schema = _key_schema(shared=self.shared, connection=connection)
        return blind_index(value, schema_name=schema, purpose=self.purpose)


@BlindIndexField.register_lookup
class BlindIndexMatches(Lookup):  # type: ignore[type-arg]
    """`<index>__matches=<clear value>`: blind-index the value for this schema, compare."""

    lookup_name = "matches"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        index = self.lhs.output_field.index_of(str(self.rhs), connection=connection)
        return f"{lhs_sql} = %s", (*lhs_params, index)
