import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """`Ballot.options` gets its table as a model of its own (BallotChoice), to be named in plain words. The table,
    its columns and its unique pair are those Django made for the many-to-many: nothing changes in the database."""

    dependencies = [
        ("posts", "0004_film_tally"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BallotChoice",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("ballot", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="posts.ballot")),
                        (
                            "option",
                            models.ForeignKey(
                                db_column="polloption_id",
                                on_delete=django.db.models.deletion.CASCADE,
                                to="posts.polloption",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "posts_ballot_options",
                        "unique_together": {("ballot", "option")},
                    },
                ),
                migrations.AlterField(
                    model_name="ballot",
                    name="options",
                    field=models.ManyToManyField(
                        related_name="ballots", through="posts.BallotChoice", to="posts.polloption"
                    ),
                ),
            ],
        ),
    ]
