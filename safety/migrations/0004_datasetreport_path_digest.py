"""DatasetReport's unique key on a digest of the path, like FileScan's (0003): paths may be
4096 bytes, more than a PostgreSQL btree index entry holds (about 2700), so a dataset file
with the longest path git accepts could not be reported."""

import hashlib

from django.db import migrations, models


def fill_digests(apps, schema_editor):
    DatasetReport = apps.get_model("safety", "DatasetReport")
    for report in DatasetReport.objects.only("pk", "path").iterator():
        digest = hashlib.sha256(report.path.encode("utf-8", "surrogateescape")).hexdigest()
        DatasetReport.objects.filter(pk=report.pk).update(path_digest=digest)


class Migration(migrations.Migration):

    dependencies = [
        ("safety", "0003_filescan_path_digest"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="datasetreport", name="safety_datasetreport_unique"),
        migrations.RemoveIndex(model_name="datasetreport", name="safety_datasetreport_path"),
        migrations.AddField(
            model_name="datasetreport",
            name="path_digest",
            field=models.CharField(default="", max_length=64),
        ),
        migrations.RunPython(fill_digests, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="datasetreport",
            constraint=models.UniqueConstraint(fields=("repository", "oid", "path_digest"),
                                               name="safety_datasetreport_key"),
        ),
        migrations.AddIndex(
            model_name="datasetreport",
            index=models.Index(fields=["repository", "oid"], name="safety_datasetreport_oid"),
        ),
    ]
