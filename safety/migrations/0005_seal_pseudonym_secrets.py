"""Pseudonym secrets stored only wrapped by the master key (issue 12: no secret in plaintext).

Each existing plain secret is wrapped as it is, so the pseudonyms it gave stay the same; rows
created from now on get theirs on first use. Wrapping needs the master key: with rows to seal
and no usable key, the migration stops with the hub's EncryptionKeyUnavailable message.
Reversible: the secrets are unwrapped back into the plain column.
"""

import secrets

from django.db import migrations, models


def _binding(storage_key) -> str:  # the same as safety.dataset_reports._pseudonym_binding
    return f"{storage_key.hex}:pseudonym"


def seal(apps, schema_editor):
    from repos.objects.encryption import wrap_secret

    DatasetPrivacy = apps.get_model("safety", "DatasetPrivacy")
    rows = DatasetPrivacy.objects.values_list("pk", "pseudonym_secret", "repository__storage_key")
    for pk, plain, storage_key in list(rows):
        wrapped = wrap_secret(bytes.fromhex(plain), binding=_binding(storage_key))
        DatasetPrivacy.objects.filter(pk=pk).update(pseudonym_secret_wrapped=wrapped, pseudonym_secret="")


def unseal(apps, schema_editor):
    from repos.objects.encryption import unwrap_secret

    DatasetPrivacy = apps.get_model("safety", "DatasetPrivacy")
    rows = DatasetPrivacy.objects.values_list("pk", "pseudonym_secret_wrapped", "repository__storage_key")
    for pk, wrapped, storage_key in list(rows):
        plain = (unwrap_secret(wrapped, binding=_binding(storage_key), what="a pseudonym key").hex() if wrapped
                 else secrets.token_hex(32))  # never used: a fresh one (the re-added column's default is shared)
        DatasetPrivacy.objects.filter(pk=pk).update(pseudonym_secret=plain)


class Migration(migrations.Migration):

    dependencies = [
        ("safety", "0004_datasetreport_path_digest"),
    ]

    operations = [
        migrations.AddField(
            model_name="datasetprivacy",
            name="pseudonym_secret_wrapped",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.RunPython(seal, unseal),
        migrations.RemoveField(
            model_name="datasetprivacy",
            name="pseudonym_secret",
        ),
    ]
