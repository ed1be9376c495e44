# The alarm sweep's index: reported-lost checks by time.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('document_checks', '0002_alarm_and_misuse_reports'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='documentcheck',
            index=models.Index(condition=models.Q(('answer', 'reported_lost')), fields=['checked_at'], name='document_check_lost_idx'),
        ),
    ]
