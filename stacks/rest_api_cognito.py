"""Cognito sign-in for the REST API: a given user pool or one created for a browser, and its authorizer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from .rest_api_acknowledgements import acknowledge_user_pool_tier
from .rest_api_auth import RestApiAuth

DOMAIN_PREFIX_START = "bedrock-streaming-"


class CognitoSignIn(Construct):
    """The user pool whose ID tokens the API accepts, and the ``COGNITO_USER_POOLS`` authorizer.

    A created pool: no self sign-up (an administrator invites users), e-mail sign-in, a strong password
    policy, TOTP MFA required, e-mail-only account recovery; an app client for a browser (authorization
    code grant with PKCE, no client secret, OpenID/e-mail/profile scopes, token revocation, no user
    existence errors) and a Cognito-hosted sign-in domain.
    """

    def __init__(self, scope: Construct, construct_id: str, *, auth: RestApiAuth) -> None:
        super().__init__(scope, construct_id)
        self.user_pool_client: cognito.IUserPoolClient | None = auth.user_pool_client
        """The app client (created with the pool, or the one given); None if a pool was given without one."""
        self.domain: cognito.UserPoolDomain | None = None
        """The hosted sign-in domain of a created pool; None for a given pool."""
        if auth.user_pool is not None:
            self.user_pool: cognito.IUserPool = auth.user_pool
            """The user pool (given or created)."""
        else:
            self.user_pool = self._create_pool(auth)
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[self.user_pool],
            identity_source=apigw.IdentitySource.header("Authorization"),
        )
        """The ``CognitoUserPoolsAuthorizer`` (ID token in ``Authorization``)."""

    def _create_pool(self, auth: RestApiAuth) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
        )
        acknowledge_user_pool_tier(pool)
        self.user_pool_client = pool.add_client(
            "BrowserClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=list(auth.callback_urls),
                logout_urls=list(auth.logout_urls) or None,
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=cdk.Duration.hours(1),
            access_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
        )
        prefix = auth.domain_prefix or _stack_unique_prefix(self)
        self.domain = pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix)
        )
        return pool


def _stack_unique_prefix(scope: Construct) -> str:
    """``bedrock-streaming-<the stack id's UUID>``: unique per stack (a domain is unique per Region)."""
    stack_id = cdk.Stack.of(scope).stack_id
    return cdk.Fn.join("", [DOMAIN_PREFIX_START, cdk.Fn.select(2, cdk.Fn.split("/", stack_id))])
