"""FileScan's unique key on a digest of the path: paths may be 4096 bytes, more than a
PostgreSQL btree index entry holds (about 2700), so (repository, oid, path) could not be
indexed for the longest paths git accepts."""

import hashlib

from django.db import migrations, models


def fill_digests(apps, schema_editor):
    FileScan = apps.get_model("safety", "FileScan")
    for scan in FileScan.objects.only("pk", "path").iterator():
        digest = hashlib.sha256(scan.path.encode("utf-8", "surrogateescape")).hexdigest()
        FileScan.objects.filter(pk=scan.pk).update(path_digest=digest)


class Migration(migrations.Migration):

    dependencies = [
        ('safety', '0002_dataset_reports'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='filescan',
            name='safety_filescan_unique',
        ),
        migrations.AddField(
            model_name='filescan',
            name='path_digest',
            field=models.CharField(default='', max_length=64),
        ),
        migrations.RunPython(fill_digests, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='filescan',
            constraint=models.UniqueConstraint(fields=('repository', 'oid', 'path_digest'),
                                               name='safety_filescan_path_unique'),
        ),
    ]
