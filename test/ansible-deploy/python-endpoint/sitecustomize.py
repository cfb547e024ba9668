# Test only. Debian's boto3 1.26 predates AWS_ENDPOINT_URL, and amazon.aws 5.5.1's aws_ec2
# inventory plugin has no endpoint option (later versions have endpoint_url). The dynamic
# inventory test puts this directory on PYTHONPATH so that boto3 clients reach the emulator.
import os

_url = os.environ.get('TEST_BOTO3_ENDPOINT_URL')
if _url:
    try:
        import boto3.session
    except ImportError:
        boto3 = None
    if boto3 is not None:
        _client = boto3.session.Session.client

        def _client_with_endpoint(self, *args, **kwargs):
            kwargs.setdefault('endpoint_url', _url)
            return _client(self, *args, **kwargs)

        boto3.session.Session.client = _client_with_endpoint
