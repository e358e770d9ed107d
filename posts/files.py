"""Files that belong to posts, removed with them."""

from django.db.models.fields.files import FieldFile

from .models import Movie, Post, PostImage, Song


def post_files(post: Post) -> list[FieldFile]:
    """Every stored file of a post: its photos and thumbnails, a song and its cover, a poster."""
    files: list[FieldFile] = []
    for image in PostImage.objects.filter(post=post):
        files += [image.image, image.thumb]
    for song in Song.objects.filter(post=post):
        files += [song.audio, song.cover]
    for movie in Movie.objects.filter(post=post):
        files.append(movie.poster)
    return [f for f in files if f]


def delete_post_files(post: Post) -> None:
    for field_file in post_files(post):
        field_file.delete(save=False)
