"""The API-key TOKEN authorizer of the REST API door, deployed as its own zip-packaged Lambda function."""
