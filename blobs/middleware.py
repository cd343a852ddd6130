"""A 304 carries no ``Content-Length`` (RFC 9110 §8.6).

``CommonMiddleware`` gives every non-streaming response the length of its content, which
on a 304 would say ``0`` for a representation that is not empty. This runs outside it.
"""


class NotModifiedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 304:
            response.headers.pop("Content-Length", None)
        return response
